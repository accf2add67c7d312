/**
 * The NATS binding against a real nats-server: calls, shard-to-shard
 * forwarding, chunked frames, typed errors, timeouts and discovery.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callStage,
  connectNats,
  createLogger,
  discoverWorkers,
  serveStage,
  SpoolError,
  tensor,
  wireError,
  WORKER_METADATA,
  type StageServer,
} from '@spool/shared';
import { startTestNats, type TestNats } from './helpers/nats.ts';

const log = createLogger('binding-test', { SPOOL_LOG_LEVEL: 'silent' });

describe('NATS binding', () => {
  let server: TestNats;
  let nc: NatsConnection;
  let workerNc: NatsConnection;
  const servers: StageServer[] = [];

  beforeAll(async () => {
    // A small max payload, so that a 1 MB tensor must travel in chunks.
    server = await startTestNats({ maxPayload: 64 * 1024 });
    nc = await connectNats(server.url, 'test-client');
    workerNc = await connectNats(server.url, 'test-worker');
    const common = { nc: workerNc, version: '0.1.0', description: 'test', timeoutMs: 5000, concurrency: 2, log };
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
        ],
      }),
    );
  });

  afterAll(async () => {
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

  it('rebuilds a worker failure as the same typed error, naming the stage', async () => {
    const err = await callStage(nc, 'test.broken', { meta: {}, tensors: {} }, { stage: 'broken', timeoutMs: 5000 }).catch((e) => e);
    expect(err).toBeInstanceOf(SpoolError);
    expect(err.code).toBe('SPOOL_ERR_MODEL');
    expect(err.status).toBe(502);
    // The worker that failed stamps its own stage label.
    expect(err.stage).toBe('double');
    expect(err.message).toContain('ran out of blocks');
  });

  it('says which stage has no worker', async () => {
    const err = await callStage(nc, 'test.nobody', { meta: {}, tensors: {} }, { stage: 'denoise.7', timeoutMs: 2000 }).catch((e) => e);
    expect(err.code).toBe('SPOOL_ERR_STAGE_UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.message).toContain('denoise.7');
  });

  it('times out a stage that never answers', async () => {
    const err = await callStage(nc, 'test.silent', { meta: {}, tensors: {} }, { stage: 'silent', timeoutMs: 300 }).catch((e) => e);
    expect(err.code).toBe('SPOOL_ERR_STAGE_TIMEOUT');
    expect(err.status).toBe(504);
  });

  it('stops waiting when the caller aborts', async () => {
    const ac = new AbortController();
    const pending = callStage(nc, 'test.silent', { meta: {}, tensors: {} }, { stage: 'silent', timeoutMs: 10000, signal: ac.signal });
    ac.abort();
    const err = await pending.catch((e) => e);
    expect(err.code).toBe('SPOOL_ERR_CANCELLED');
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
