/**
 * The several-hosts recipe of infra/DEPLOY.md, on loopback: keys from
 * `npm run credentials`, a CA and server certificate from openssl, the
 * committed infra/nats.conf with the generated auth.conf next to it and a
 * `tls {}` block added, started by the real nats-server; then `npm start`
 * against it (NATS_URL=tls://…, SPOOL_NATS_CREDENTIALS, the CA), which must
 * serve a video, and stop in order on SIGTERM. And the systemd unit that
 * DEPLOY.md gives for `npm start`, as systemd reads it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODELS_DIR } from '@spool/shared';
import { natsServerBinary } from '../src/nats-server.ts';
import { freePort, waitForPort } from '../src/net.ts';
import { coordinatorStopMs, REPO_ROOT } from '../src/stack.ts';
import { makeCertificates } from './helpers/certs.ts';

const TOKEN = 'deploy-test-token-0123456789';
const MODEL_DIR = path.relative(REPO_ROOT, path.join(MODELS_DIR, 'cogvideox-tiny'));

/** Resolves when `text` has been printed, rejects if the process exits first or after `ms`. */
function printed(child: ChildProcess, out: () => string, text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`"${text}" not printed within ${ms} ms:\n${out()}`)), ms);
    const check = (): void => {
      if (out().includes(text)) finish();
    };
    const exited = (code: number | null): void => finish(new Error(`exited (${code}) before printing "${text}":\n${out()}`));
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      child.off('exit', exited);
      if (err) reject(err);
      else resolve();
    };
    child.stdout?.on('data', check);
    child.once('exit', exited);
    check();
  });
}

describe('several hosts, on loopback: npm start against an external NATS over TLS with the closed bus', () => {
  let dir: string;
  let nats: ChildProcess | undefined;
  let natsPort: number;
  let spool: ChildProcess | undefined;
  let output = '';
  let apiPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-deploy-'));
    // The npm scripts install what is missing first, and say so on stderr; have that done before.
    spawnSync('bash', ['infra/bin/bootstrap.sh'], { cwd: REPO_ROOT, stdio: 'ignore', timeout: 300_000 });
    // 1. The keys, for the layout npm start runs, and the certificates.
    const made = spawnSync('npm', ['run', '--silent', 'credentials', '--', '--layout', 'infra/layout.json', '--model', MODEL_DIR, '--out', path.join(dir, 'keys')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    makeCertificates(dir);

    // 2. The bus host's configuration: infra/nats.conf, the generated auth.conf next to it, and TLS.
    const conf = path.join(dir, 'nats', 'nats.conf');
    mkdirSync(path.dirname(conf));
    copyFileSync(path.join(REPO_ROOT, 'infra/nats.conf'), conf);
    // JetStream's store moves from the container's /data to a folder of the bus host, as DEPLOY.md's sed does.
    const storeDir = 'store_dir: "/data/jetstream"';
    expect(readFileSync(conf, 'utf8')).toContain(storeDir);
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(storeDir, `store_dir: ${JSON.stringify(path.join(dir, 'jetstream'))}`));
    copyFileSync(path.join(dir, 'keys', 'auth.conf'), path.join(dir, 'nats', 'auth.conf'));
    appendFileSync(conf, `\ntls {\n  cert_file: "${path.join(dir, 'server.pem')}"\n  key_file: "${path.join(dir, 'server.key')}"\n  timeout: 5\n}\n`);
    const checked = spawnSync(natsServerBinary(), ['-t', '-c', conf], { encoding: 'utf8' });
    expect(`${checked.stdout}${checked.stderr}`).toContain('is valid');
    natsPort = await freePort();
    nats = spawn(natsServerBinary(), ['-c', conf, '-a', '127.0.0.1', '-p', String(natsPort), '-m', String(await freePort())], { stdio: 'ignore' });
    await waitForPort('127.0.0.1', natsPort, 15_000);

    // 3. npm start on a worker host, with the folder of keys and the CA.
    apiPort = await freePort();
    spool = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NATS_URL: `tls://127.0.0.1:${natsPort}`,
        SPOOL_NATS_CREDENTIALS: path.join(dir, 'keys'),
        SPOOL_NATS_TLS_CA: path.join(dir, 'ca.pem'),
        SPOOL_MODEL_DIR: MODEL_DIR,
        SPOOL_API_TOKENS: TOKEN,
        SPOOL_HOST: '127.0.0.1',
        SPOOL_PORT: String(apiPort),
        SPOOL_LOG_DIR: path.join(dir, 'logs'),
        SPOOL_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    spool.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    spool.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    await printed(spool, () => output, 'spool is ready', 150_000);
  });

  afterAll(async () => {
    if (spool && spool.exitCode === null && spool.signalCode === null) {
      const gone = new Promise((r) => spool!.once('exit', r));
      spool.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 60_000))]);
      spool.kill('SIGKILL');
    }
    nats?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves a video through workers that each connected over TLS with their own key', async () => {
    expect((await fetch(`http://127.0.0.1:${apiPort}/health`)).status).toBe(200);
    const res = await fetch(`http://127.0.0.1:${apiPort}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ prompt: 'a red circle moving left', num_frames: 8, num_inference_steps: 2, seed: 7 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it('stops in order on SIGTERM to npm, as systemd sends it with KillMode=mixed', async () => {
    const exited = new Promise<number | null>((r) => spool!.once('exit', (code) => r(code)));
    spool!.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('spool: terminated; stopping every process');
    expect(output).toContain('spool: stopped.');
  });
});

/** The fenced block of infra/DEPLOY.md whose first line is `# <name>`. */
function deployBlock(name: string): string {
  const text = readFileSync(path.join(REPO_ROOT, 'infra/DEPLOY.md'), 'utf8');
  const block = text.split('```').find((b) => b.replace(/^\w*\n/, '').startsWith(`# ${name}`));
  if (!block) throw new Error(`infra/DEPLOY.md has no block starting with "# ${name}"`);
  return block.replace(/^\w*\n/, '');
}

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe("DEPLOY.md's systemd unit for npm start", () => {
  const unit = deployBlock('/etc/systemd/system/spool.service');
  const env = Object.fromEntries(
    deployBlock('/etc/spool/spool.env')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const setting = (key: string): string | undefined => unit.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);

  it('signals npm alone and waits longer than the launcher takes to drain in order', () => {
    expect(setting('KillMode')).toBe('mixed');
    expect(setting('KillSignal')).toBe('SIGTERM');
    expect(setting('ExecStart')).toBe('/usr/bin/env npm start');
    // The launcher's stop (infra/src/stack.ts): the coordinator's drain and margin, then the
    // workers' drain (SPOOL_DRAIN_GRACE_MS, 10 s by default) and margin, then NATS (5 s at most).
    const workersMs = Number(env.SPOOL_DRAIN_GRACE_MS ?? 10_000) + 5_000;
    const budgetMs = coordinatorStopMs(env) + workersMs + 5_000;
    expect(Number(env.SPOOL_DRAIN_S)).toBeGreaterThan(0);
    expect(Number(setting('TimeoutStopSec')) * 1000).toBeGreaterThanOrEqual(budgetMs);
  });

  it.skipIf(!hasSystemdAnalyze)('is a unit systemd accepts (systemd-analyze verify)', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-unit-'));
    try {
      const file = path.join(dir, 'spool.service');
      writeFileSync(file, unit);
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
