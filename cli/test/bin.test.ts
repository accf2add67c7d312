/**
 * The real `spool` command as a process, where no server is needed: help and
 * version, usage errors (exit 2), a server that cannot be reached (exit 3), an
 * output folder that does not exist (exit 8, before anything is sent), and
 * `npx spool --help` from the repository's root.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/args.ts';
import { EXIT, EXIT_CODES } from '../src/exit-codes.ts';
import { REPO_ROOT, runBin, runNpx } from './helpers/run-bin.ts';

/** A port nothing listens on: one the kernel gave, closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('spool, the command', () => {
  it('prints its help with every command and exit code, on stdout, exit 0', async () => {
    const r = await runBin(['--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toBe('');
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name}`);
    for (const e of EXIT_CODES) expect(r.stdout).toMatch(new RegExp(`^ +${e.code}  `, 'm'));
    expect(r.stdout).toContain('SPOOL_TOKEN');
  });

  it("prints a command's help with its flags", async () => {
    const r = await runBin(['generate', '--help']);
    expect(r.code).toBe(EXIT.OK);
    for (const flag of ['--frames N', '--fps N', '--steps N', '--guidance X', '--seed N', '-o, --output FILE', '--sync', '-q, --quiet', '--json', '--url URL', '--token TOKEN']) {
      expect(r.stdout).toContain(flag);
    }
    expect((await runBin(['help', 'jobs'])).stdout).toContain('--limit N');
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cli', 'package.json'), 'utf8')) as { version: string };
    const r = await runBin(['--version']);
    expect(r).toMatchObject({ code: EXIT.OK, stdout: `spool ${version}\n` });
  });

  it('exits 2 saying what to fix on a bad command line, before contacting anything', async () => {
    const cases: [string[], RegExp][] = [
      [[], /give a command/],
      [['generate'], /generate: give PROMPT/],
      [['generate', 'a red circle', '--frames', 'nine'], /--frames must be an integer of 1 or more \(got "nine"\)/],
      [['generate', 'a red circle', '--colour', 'red'], /unknown flag --colour/],
      [['generate', 'a', 'red', 'circle'], /put the prompt in quotes/],
      [['generate', 'x', '--seed', '4294967296'], /--seed must be from 0 to 4294967295/],
      [['jobs', '--limit', '0'], /--limit must be from 1 to 100/],
      [['status'], /status: give ID/],
      [['make', 'x'], /unknown command "make"/],
      [['jobs', '--url', 'ftp://example.org'], /--url="ftp:\/\/example.org" must be an http:\/\/ or https:\/\/ URL/],
    ];
    for (const [args, message] of cases) {
      const r = await runBin(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: EXIT.USAGE, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
    const env = await runBin(['jobs'], { env: { SPOOL_URL: 'not a url' } });
    expect(env.code).toBe(EXIT.USAGE);
    expect(env.stderr).toMatch(/SPOOL_URL="not a url" is not a URL/);
  });

  it('exits 3 when the server cannot be reached, naming it', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    for (const args of [['jobs'], ['health'], ['generate', 'a red circle']]) {
      const r = await runBin([...args, '--url', url, '--token', 'any-token-0123456789']);
      expect(r.code).toBe(EXIT.UNREACHABLE);
      expect(r.stderr).toContain(`cannot reach the server at ${url}: connection refused`);
    }
  });

  it('exits 8 when -o names a folder that does not exist, before making a job', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await runBin(['generate', 'a red circle', '-o', '/nonexistent-spool-folder/x.mp4', '--url', url]);
    expect(r.code).toBe(EXIT.OUTPUT);
    expect(r.stderr).toContain('the folder /nonexistent-spool-folder does not exist');
  });

  it('runs as `npx spool` from the repository root, offline', async () => {
    const r = await runNpx(['--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('Usage: spool <command>');
  });
});
