/**
 * Faults provoked for real on a running stack (cogvideox-tiny, its own
 * supervised nats-server with the bus closed, processes restarted when they
 * die): `kill -9` of a denoiser replica, a replica frozen with SIGSTOP (the
 * watchdog kills it), `kill -9` of the only worker of a shard, of
 * nats-server, and a stage that stays down. In-flight requests complete, or
 * fail fast with a 503 that names the stage; nothing hangs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelPackage, MODELS_DIR } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_STALL_MS } from '../src/config.ts';
import { parseLayout } from '../src/layout/parse.ts';
import { modelFacts, resolveLayout } from '../src/layout/resolve.ts';
import { startStack, type Stack } from '../src/stack.ts';
import { probe } from './helpers/media.ts';
import { until } from './helpers/until.ts';

const TOKEN = 'faults-token-0123456789';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;

// Two replicas of shard 0; one worker everywhere else.
const layout = resolveLayout(
  parseLayout({ 'text-encoder': {}, denoiser: [{ replicas: 2 }, {}], 'vae-decoder': {}, 'video-encoder': {} }, 'faults.test'),
  modelFacts(manifest),
  'faults.test',
);

interface Outcome {
  readonly status: number;
  readonly retries: number;
  readonly body: Uint8Array;
  readonly seed: number;
}

describe('faults on a running stack', () => {
  let stack: Stack;
  let dir: string;
  let lines: string[];
  let seed = 100;

  const generate = async (steps = 40): Promise<Outcome> => {
    const s = seed++;
    const res = await fetch(`${stack.url}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a green square moving up on a white background', num_frames: 49, num_inference_steps: steps, seed: s }),
    });
    return { status: res.status, retries: Number(res.headers.get('x-spool-retries') ?? 0), body: new Uint8Array(await res.arrayBuffer()), seed: s };
  };

  /** Resolves once the coordinator has a request past its first denoising steps. */
  const denoising = () =>
    until('a request in its denoising loop', async () => {
      const list = (await (await fetch(`${stack.url}/requests`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as Array<{ step: number }>;
      return list.some((r) => r.step >= 2) ? true : undefined;
    });

  const healthy = () => until('/health 200', async () => ((await fetch(`${stack.url}/health`)).status === 200 ? true : undefined));

  const expectVideo = async (o: Outcome): Promise<void> => {
    expect(o.status, new TextDecoder().decode(o.body.subarray(0, 300))).toBe(200);
    const file = path.join(dir, `video-${o.seed}.mp4`);
    writeFileSync(file, o.body);
    expect(await probe(file)).toMatchObject({ codec: 'h264', frames: 49 });
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-faults-'));
    lines = [];
    stack = await startStack({
      modelDir: MODEL_DIR,
      layout,
      tokens: [TOKEN],
      port: 0,
      logDir: path.join(dir, 'logs'),
      env: { SPOOL_LOG_LEVEL: 'warn' },
      // Every request may run at once, so that all of them are in flight when a fault strikes.
      coordinatorEnv: { SPOOL_MAX_CONCURRENT: '4', SPOOL_RATE_LIMIT: '0' },
      restart: { maxRestarts: 5, stallMs: DEFAULT_WORKER_STALL_MS },
      onLine: (label, line) => lines.push(`${label} ${line}`),
    });
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('completes every in-flight request when a denoiser replica is killed outright', async () => {
    const victim = stack.pid('denoise.0#0')!;
    const requests = [generate(), generate(), generate(), generate()];
    await denoising();
    process.kill(victim, 'SIGKILL');
    for (const o of await Promise.all(requests)) await expectVideo(o);
    await healthy();
  });

  it('completes every in-flight request when a denoiser replica freezes (SIGSTOP): it is killed and started again', async () => {
    const victim = stack.pid('denoise.0#1')!;
    const from = lines.length;
    const requests = [generate(), generate(), generate(), generate()];
    await denoising();
    process.kill(victim, 'SIGSTOP');
    try {
      for (const o of await Promise.all(requests)) await expectVideo(o);
      // The watchdog saw it silent while its process lived, killed it, and the supervisor started it again.
      await until('the frozen replica killed and replaced', async () => (stack.pid('denoise.0#1') !== victim ? true : undefined));
      const said = lines.slice(from);
      expect(said.some((l) => /^denoise\.0#1 has not answered for [\d.]+ s while its process \d+ lives \(frozen or hung\); killing it/.test(l))).toBe(true);
      expect(said.some((l) => /^denoise\.0#1 exited \(SIGKILL\); starting it again/.test(l))).toBe(true);
      // No other worker was taken for frozen.
      expect(said.filter((l) => /has not answered/.test(l)).every((l) => l.startsWith('denoise.0#1 '))).toBe(true);
      await healthy();
      await expectVideo(await generate(4));
    } finally {
      try {
        process.kill(victim, 'SIGKILL');
      } catch {
        // killed by the watchdog, as it should be
      }
    }
  });

  it('sends lost calls again to the restarted worker when the only worker of a shard is killed', async () => {
    const victim = stack.pid('denoise.1')!;
    const requests = [generate(), generate(), generate()];
    await denoising();
    process.kill(victim, 'SIGKILL');
    const outcomes = await Promise.all(requests);
    for (const o of outcomes) await expectVideo(o);
    // Calls to the dead shard were lost and sent again once it was back.
    expect(outcomes.reduce((n, o) => n + o.retries, 0)).toBeGreaterThan(0);
    expect(lines.some((l) => /^denoise\.1 exited \(SIGKILL\); starting it again/.test(l))).toBe(true);
    expect(stack.pid('denoise.1')).not.toBe(victim);
    await healthy();
    // The next request needs nothing sent again.
    const after = await generate(4);
    await expectVideo(after);
    expect(after.retries).toBe(0);
  });

  it('comes back by itself after nats-server is killed outright: in-flight requests complete or fail fast, the next succeeds', async () => {
    const victim = stack.pid('nats-server')!;
    expect(victim).toBeGreaterThan(0);
    const from = lines.length;
    const requests = [generate(), generate()];
    await denoising();
    process.kill(victim, 'SIGKILL');
    for (const o of await Promise.all(requests)) {
      if (o.status === 200) await expectVideo(o);
      else {
        expect(o.status).toBe(503);
        expect(JSON.parse(new TextDecoder().decode(o.body)).code).toMatch(/^SPOOL_ERR_(CALL_LOST|BUS_UNAVAILABLE|STAGE_UNAVAILABLE)$/);
      }
    }
    expect(lines.some((l) => /^nats-server exited .*starting it again on the same port/.test(l))).toBe(true);
    expect(stack.pid('nats-server')).not.toBe(victim);
    await healthy();
    await expectVideo(await generate(4));
    // Workers silent while NATS was down were not taken for frozen ones.
    expect(lines.slice(from).filter((l) => /has not answered/.test(l))).toEqual([]);
  });

  it('fails an in-flight request with a 503 naming the stage when that stage is gone for good', async () => {
    const request = generate(60);
    await denoising();
    // Killed, and not started again.
    await stack.stopProcess('vae-decoder', 'SIGKILL');
    const o = await request;
    expect(o.status).toBe(503);
    const body = JSON.parse(new TextDecoder().decode(o.body)) as { code: string; message: string };
    expect(body.code).toBe('SPOOL_ERR_STAGE_UNAVAILABLE');
    expect(body.message).toMatch(/vae-decoder/);
    await stack.startProcess('vae-decoder');
    await healthy();
  });
});
