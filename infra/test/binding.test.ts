/**
 * The NATS binding against a real nats-server: calls, shard-to-shard
 * forwarding, chunked frames, typed errors, timeouts, heartbeats, lost calls
 * (a worker process killed outright) and discovery.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Empty, headers as natsHeaders, nuid, type NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHUNK_HEADER,
  connectNats,
  errorFromHeaders,
  createLogger,
  discoverWorkers,
  frameLimits,
  serveStage,
  SpoolError,
  StageCaller,
  tensor,
  wireError,
  WORKER_METADATA,
  type CallOptions,
  type StageServer,
  type WireMessage,
} from '@spool/shared';
import { REPO_ROOT } from '../src/stack.ts';
import { startTestNats, type TestNats } from './helpers/nats.ts';

const log = createLogger('binding-test', { SPOOL_LOG_LEVEL: 'silent' });

describe('NATS binding', () => {
  let server: TestNats;
  let nc: NatsConnection;
  let workerNc: NatsConnection;
  let caller: StageCaller;
  const servers: StageServer[] = [];
  const callStage = (_nc: NatsConnection, subject: string, message: WireMessage, opts: CallOptions): Promise<WireMessage> => caller.call(subject, message, opts);

  beforeAll(async () => {
    // A small max payload, so that a 1 MB tensor must travel in chunks.
    server = await startTestNats({ maxPayload: 64 * 1024 });
    nc = await connectNats({ servers: server.url, name: 'test-client' });
    workerNc = await connectNats({ servers: server.url, name: 'test-worker' });
    caller = new StageCaller(nc, { lostAfterMs: 600 });
    const common = { nc: workerNc, version: '0.1.0', description: 'test', timeoutMs: 5000, concurrency: 2, heartbeatMs: 100, log };
    servers.push(
      await serveStage({
        ...common,
        serviceName: 'spool-test-a',
        stage: 'double',
        metadata: { [WORKER_METADATA.role]: 'vae-decoder', [WORKER_METADATA.model]: 'test', [WORKER_METADATA.device]: 'cpu' },
        endpoints: [
          {
            name: 'double',
            subject: 'test.double',
            handler: async ({ meta, tensors }) => {
              const x = tensors.x.data as Float32Array;
              return { meta: { ...meta, doubled: true }, tensors: { y: tensor('float32', tensors.x.shape, x.map((v) => v * 2)) } };
            },
          },
          {
            name: 'chain-head',
            subject: 'test.chain.0',
            handler: async ({ meta, tensors }) => ({
              forwardTo: 'test.chain.1',
              meta: { ...meta, via: ['chain.0'] },
              tensors: { h: tensor('float32', tensors.x.shape, (tensors.x.data as Float32Array).map((v) => v + 1)) },
            }),
          },
          {
            name: 'chain-tail',
            subject: 'test.chain.1',
            handler: async ({ meta, tensors }) => ({
              meta: { via: [...(meta.via as string[]), 'chain.1'] },
              tensors: { y: tensor('float32', tensors.h.shape, (tensors.h.data as Float32Array).map((v) => v * 10)) },
            }),
          },
          {
            name: 'broken',
            subject: 'test.broken',
            handler: async () => {
              throw wireError('SPOOL_ERR_MODEL', 'the model ran out of blocks');
            },
          },
          {
            name: 'silent',
            subject: 'test.silent',
            handler: () => new Promise(() => undefined),
          },
          {
            name: 'slow',
            subject: 'test.slow',
            // Several times the caller's lost-after period: only the heartbeats keep the call alive.
            handler: (m) => new Promise((resolve) => setTimeout(() => resolve({ meta: { slept: true }, tensors: m.tensors }), 2_000)),
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    caller?.close();
    for (const s of servers) await s.drain(100);
    await nc?.close();
    await workerNc?.close();
    await server?.stop();
  });

  it('calls a stage and gets its tensors back', async () => {
    const reply = await callStage(nc, 'test.double', { meta: { n: 1 }, tensors: { x: tensor('float32', [2], Float32Array.from([1.5, -2])) } }, { stage: 'double', timeoutMs: 5000 });
    expect(reply.meta).toEqual({ n: 1, doubled: true });
    expect(Array.from(reply.tensors.y.data as Float32Array)).toEqual([3, -4]);
  });

  it('forwards from one subject to the next, and the last one answers the caller', async () => {
    const reply = await callStage(nc, 'test.chain.0', { meta: {}, tensors: { x: tensor('float32', [3], Float32Array.from([0, 1, 2])) } }, { stage: 'chain', timeoutMs: 5000 });
    expect(reply.meta.via).toEqual(['chain.0', 'chain.1']);
    expect(Array.from(reply.tensors.y.data as Float32Array)).toEqual([10, 20, 30]);
  });

  it('moves frames larger than the max payload in chunks, both ways and along a chain', async () => {
    const n = 256 * 1024; // 1 MB of float32 against a 64 KB max payload
    const x = Float32Array.from({ length: n }, (_, i) => (i % 1000) / 7);
    const reply = await callStage(nc, 'test.double', { meta: {}, tensors: { x: tensor('float32', [n], x) } }, { stage: 'double', timeoutMs: 10000 });
    const y = reply.tensors.y.data as Float32Array;
    expect(y.length).toBe(n);
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(y[i] - 2 * x[i]));
    expect(worst).toBe(0);
    const chained = await callStage(nc, 'test.chain.0', { meta: {}, tensors: { x: tensor('float32', [n], x) } }, { stage: 'chain', timeoutMs: 10000 });
    expect((chained.tensors.y.data as Float32Array)[999]).toBeCloseTo((x[999] + 1) * 10, 3);
  });

  it('refuses a frame over the receiving side\'s SPOOL_MAX_FRAME_MB, at a worker and at a caller', async () => {
    const MiB = 1024 * 1024;
    const floats = (bytes: number) => tensor('float32', [bytes / 4], new Float32Array(bytes / 4).fill(0.5));
    const small = await serveStage({
      nc: workerNc,
      serviceName: 'spool-test-small',
      version: '0.1.0',
      description: 'test',
      stage: 'small',
      metadata: { [WORKER_METADATA.role]: 'vae-decoder' },
      endpoints: [{ name: 'echo', subject: 'test.small', handler: async (m) => m }],
      timeoutMs: 5000,
      concurrency: 1,
      frameLimits: frameLimits(1),
      log,
    });
    try {
      // Within the limit it serves; one over it, announced in chunks, is refused from the announce.
      const fits = await callStage(nc, 'test.small', { meta: {}, tensors: { x: floats(MiB / 2) } }, { stage: 'small', timeoutMs: 10_000 });
      expect(fits.tensors.x.data.length).toBe(MiB / 8);
      const err = await callStage(nc, 'test.small', { meta: {}, tensors: { x: floats(MiB) } }, { stage: 'small', timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SPOOL_ERR_BAD_MESSAGE', stage: 'small' });
      expect((err as Error).message).toMatch(/a frame of \d+ bytes is over the limit of 1048576 bytes \(SPOOL_MAX_FRAME_MB=1\)/);
    } finally {
      await small.drain(100);
    }
    // A caller with a 1 MiB limit sends a frame the worker takes, and refuses the reply of the same size.
    const strict = new StageCaller(nc, { lostAfterMs: 600, frameLimits: frameLimits(1) });
    try {
      const err = await strict.call('test.double', { meta: {}, tensors: { x: floats(MiB + 8) } }, { stage: 'double', timeoutMs: 10_000 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SPOOL_ERR_BAD_MESSAGE', stage: 'double' });
      expect((err as Error).message).toMatch(/over the limit of 1048576 bytes \(SPOOL_MAX_FRAME_MB=1\)/);
    } finally {
      strict.close();
    }
  });

  it('stops pulling the rest of a frame once one chunk failed', async () => {
    const fetch = `_INBOX.chunks.${nuid.next()}`;
    const pulled: number[] = [];
    const sub = nc.subscribe(fetch, {
      callback: (_err, m) => {
        const index = Number(m.string());
        pulled.push(index);
        if (index === 0) {
          const h = natsHeaders();
          h.set('Spool-Chunk-Error', 'gone');
          m.respond(Empty, { headers: h });
        } else setTimeout(() => m.respond(new Uint8Array(1024)), 100);
      },
    });
    const inbox = `_INBOX.calls.${nuid.next()}`;
    const answers = nc.subscribe(inbox);
    const h = natsHeaders();
    h.set(CHUNK_HEADER, `${8 * 1024}/1024/${fetch}`);
    nc.publish('test.double', Empty, { reply: inbox, headers: h });
    let failure: SpoolError | undefined;
    for await (const m of answers) {
      failure = errorFromHeaders((k) => (m.headers?.has(k) ? m.headers.get(k) : undefined));
      if (failure) break;
    }
    expect(failure).toMatchObject({ code: 'SPOOL_ERR_BAD_MESSAGE' });
    expect(failure!.message).toMatch(/chunk 0 of a frame from the sender: gone/);
    // The three pulls in flight with chunk 0 are answered, and nothing more is asked for.
    await new Promise((r) => setTimeout(r, 400));
    sub.unsubscribe();
    expect(pulled.sort()).toEqual([0, 1, 2, 3]);
  });

  it('rebuilds a worker failure as the same typed error, naming the stage', async () => {
    const err = await callStage(nc, 'test.broken', { meta: {}, tensors: {} }, { stage: 'broken', timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpoolError);
    // The worker that failed stamps its own stage label.
    expect(err).toMatchObject({ code: 'SPOOL_ERR_MODEL', status: 502, stage: 'double' });
    expect((err as Error).message).toContain('ran out of blocks');
  });

  it('says which stage has no worker', async () => {
    const err = await callStage(nc, 'test.nobody', { meta: {}, tensors: {} }, { stage: 'denoise.7', timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SPOOL_ERR_STAGE_UNAVAILABLE', status: 503 });
    expect((err as Error).message).toContain('denoise.7');
  });

  it('keeps a slow call alive through its heartbeats', async () => {
    const reply = await callStage(nc, 'test.slow', { meta: {}, tensors: {} }, { stage: 'slow', timeoutMs: 10_000 });
    expect(reply.meta).toEqual({ slept: true });
  });

  it('knows a call is lost when the worker holding it is killed outright, long before its timeout', async () => {
    // A worker in its own process, holding calls for a minute; SIGKILL leaves it no time to answer.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'infra/test/fixtures/hold-worker.ts'), server.url], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`the fixture worker exited (${code})`)));
      });
      // The fixture prints "holding" once the call arrived.
      const holding = new Promise<void>((resolve) => child.stdout!.on('data', (b: Buffer) => b.toString().includes('holding') && resolve()));
      const call = callStage(nc, 'test.hold', { meta: {}, tensors: {} }, { stage: 'hold', timeoutMs: 120_000 }).catch((e: unknown) => e);
      await holding;
      child.kill('SIGKILL');
      const err = await call;
      expect(err).toBeInstanceOf(SpoolError);
      expect(err).toMatchObject({ code: 'SPOOL_ERR_CALL_LOST', stage: 'hold', status: 503 });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('times out a stage that never answers', async () => {
    const err = await callStage(nc, 'test.silent', { meta: {}, tensors: {} }, { stage: 'silent', timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SPOOL_ERR_STAGE_TIMEOUT', status: 504 });
  });

  it('stops waiting when the caller aborts', async () => {
    const ac = new AbortController();
    const pending = callStage(nc, 'test.silent', { meta: {}, tensors: {} }, { stage: 'silent', timeoutMs: 10000, signal: ac.signal });
    ac.abort();
    const err = await pending.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SPOOL_ERR_CANCELLED' });
  });

  it('lists workers with their metadata, and forgets them after they drain', async () => {
    const workers = await discoverWorkers(nc, 500);
    expect(workers.map((w) => [w.service, w.role, w.device])).toContainEqual(['spool-test-a', 'vae-decoder', 'cpu']);
    const extra = await serveStage({
      nc: workerNc,
      serviceName: 'spool-test-b',
      version: '0.1.0',
      description: 'test',
      stage: 'b',
      metadata: { [WORKER_METADATA.role]: 'text-encoder' },
      endpoints: [{ name: 'noop', subject: 'test.noop', handler: async (m) => m }],
      timeoutMs: 1000,
      concurrency: 1,
      log,
    });
    expect((await discoverWorkers(nc, 500)).map((w) => w.service)).toContain('spool-test-b');
    await extra.drain(100);
    expect((await discoverWorkers(nc, 500)).map((w) => w.service)).not.toContain('spool-test-b');
  });
});
