/**
 * A stop that loses nothing, for the three ways a service is stopped: SIGTERM
 * to the `npm start` process, to the launcher itself, and to the whole process
 * group (Ctrl-C in a terminal, a process manager). Each time two requests are
 * running and two are queued: all four complete with their video, a request
 * sent during the drain gets 503 with Retry-After, a second signal does not
 * cut the drain short, and no process is left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MODELS_DIR } from '@spool/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/net.ts';
import { REPO_ROOT } from '../src/stack.ts';
import { probe } from './helpers/media.ts';
import { alive, commandOf, descendants, waitGone } from './helpers/processes.ts';

const TOKEN = 'stop-test-token-0123456789';
type Way = 'npm start' | 'the launcher' | 'the process group';

interface Started {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `npm start`, or the launcher directly, as a process group of its own; resolves once it printed that it is ready. */
async function start(way: Way, dir: string): Promise<Started> {
  const port = await freePort();
  const env = {
    ...process.env,
    SPOOL_PORT: String(port),
    SPOOL_HOST: '127.0.0.1',
    SPOOL_API_TOKENS: TOKEN,
    SPOOL_LOG_DIR: path.join(dir, 'logs'),
    SPOOL_MODEL_DIR: path.join(MODELS_DIR, 'cogvideox-tiny'),
    SPOOL_MAX_CONCURRENT: '2',
    NATS_URL: '',
  };
  const [cmd, args] = way === 'the launcher' ? [process.execPath, ['--import', 'tsx', 'infra/src/main.ts']] : ['npm', ['start', '--silent']];
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!out.includes('spool is ready')) {
    if (child.exitCode !== null) throw new Error(`${way} exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`${way} was not ready in time:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, port, exited, output: () => out };
}

const signal = (s: Started, way: Way): void => {
  if (way === 'the process group') process.kill(-s.child.pid!, 'SIGTERM');
  else s.child.kill('SIGTERM');
};

describe.each<Way>(['npm start', 'the launcher', 'the process group'])('SIGTERM to %s', (way) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-stop-'));
  let started: Started | undefined;

  afterAll(async () => {
    // A failed test must not leave its stack running.
    if (started?.child.pid && alive(started.child.pid)) {
      const left = descendants(started.child.pid);
      process.kill(-started.child.pid, 'SIGKILL');
      for (const pid of left.filter(alive)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes the two running and two queued requests, refuses new ones with 503, and leaves nothing behind', async () => {
    started = await start(way, dir);
    const { port } = started;
    const url = `http://127.0.0.1:${port}`;
    const generate = (seed: number) =>
      fetch(`${url}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'snow falling at night', num_frames: 49, num_inference_steps: 60, seed }),
      });
    const requests = [1, 2, 3, 4].map(async (seed) => {
      const res = await generate(seed);
      return { status: res.status, body: new Uint8Array(await res.arrayBuffer()), seed };
    });
    // Two running (past their first step) and two waiting for a slot.
    const until = Date.now() + 60_000;
    for (;;) {
      const list = (await (await fetch(`${url}/requests`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Array<{ state: string; step: number }>;
      if (list.filter((r) => r.state === 'denoising' && r.step >= 1).length === 2 && list.filter((r) => r.state === 'queued').length === 2) break;
      if (Date.now() > until) throw new Error(`never saw 2 running and 2 queued: ${JSON.stringify(list)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const processes = [started.child.pid!, ...descendants(started.child.pid!)];
    expect(processes.filter((pid) => /stages\/src\/main\.ts/.test(commandOf(pid)))).toHaveLength(5);

    signal(started, way);
    // Draining (the signal reaches the coordinator through the launcher): /health says so, and a
    // new request is turned away with a reason and a time to come back.
    for (let i = 0; ; i++) {
      const health = await fetch(`${url}/health`);
      const body = (await health.json()) as { message?: string };
      if (health.status === 503 && /shutting down/.test(body.message ?? '')) break;
      if (i > 300) throw new Error('the coordinator never started draining');
      await new Promise((r) => setTimeout(r, 50));
    }
    const refused = await generate(99);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(((await refused.json()) as { code: string }).code).toBe('SPOOL_ERR_SHUTTING_DOWN');
    // Impatience does not cut the drain short.
    signal(started, way);

    for (const r of await Promise.all(requests)) {
      expect(r.status, `request ${r.seed}: ${new TextDecoder().decode(r.body.subarray(0, 200))}`).toBe(200);
      const file = path.join(dir, `stop-${r.seed}.mp4`);
      writeFileSync(file, r.body);
      expect(await probe(file)).toMatchObject({ codec: 'h264', frames: 49 });
    }
    expect(await started.exited).toBe(0);
    expect(started.output()).toContain('spool: stopped.');
    const left = await waitGone(processes, 15_000);
    expect(left.map((pid) => `${pid} ${commandOf(pid)}`)).toEqual([]);
  });
});
