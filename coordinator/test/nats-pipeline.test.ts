/**
 * The NATS pipeline against a real nats-server with the bus's authorization
 * (one nkey identity per process, each with its permissions) and fake stage
 * workers served with shared's serveStage: the shard chain, the VAE →
 * video-encoder forward, discovery for /health and /info, a missing shard
 * named in the error, the stage metrics (call times, retries, frame bytes,
 * live workers) that all of it leaves, and each try of a call sent again as
 * its own span with its attempt (collected by an OTLP/HTTP receiver in the test).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  busIdentities,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  createLogger,
  encodeFrame,
  inboxPrefix,
  serveStage,
  stageIdentity,
  stageLabel,
  stageSubject,
  startOtlpReceiver,
  startTelemetry,
  tensor,
  tracer,
  type OtlpReceiver,
  type Telemetry,
  WORKER_METADATA,
  type BusCredentials,
  type StageHandler,
  type StageRole,
  type StageServer,
} from '@spool/shared';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics/metrics.ts';
import { NatsPipeline } from '../src/pipeline/nats-pipeline.ts';
import { natsDiscovery } from '../src/discovery.ts';
import { DiscoveredTopology } from '../src/topology.ts';
import { auth, manifest, testApp } from './helpers.ts';
import { parseExposition } from './prom-text.ts';

const NATS_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
const MODEL = manifest.name;
const MP4 = new Uint8Array([0, 0, 0, 0x20, 0x66, 0x74, 0x79, 0x70, 9, 9, 9]);
const log = createLogger('test', { SPOOL_LOG_LEVEL: 'silent' });

let server: ChildProcess | undefined;
let url = '';
let dir = '';
let creds: BusCredentials;

/** Connects as one identity of the bus, with its key. */
function connectAs(identity: string, name: string): Promise<NatsConnection> {
  const seed = creds.keys.find((k) => k.identity === identity)?.seed;
  return connectNats({ servers: url, name, auth: { identity, inboxPrefix: inboxPrefix(MODEL, identity), seed } });
}

const RETRY = { attempts: 2, budgetMs: 1_000, backoffMs: { first: 100, cap: 200 } };
let nc: NatsConnection;
const workers = new Map<string, StageServer>();
let otlp: OtlpReceiver;
let telemetry: Telemetry;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function startWorker(role: StageRole, handler: StageHandler, shard?: number): Promise<void> {
  const label = stageLabel(role, shard);
  const subject = stageSubject(MODEL, role, shard);
  const conn = await connectAs(stageIdentity(role, shard), `test-${label}`);
  const endpoint = { denoiser: 'denoise', 'text-encoder': 'encode', 'vae-decoder': 'decode', 'video-encoder': 'encode' }[role];
  workers.set(
    label,
    await serveStage({
      nc: conn,
      serviceName: `spool-${label.replace('.', '-')}`,
      version: '0.0.1',
      description: label,
      stage: label,
      metadata: {
        [WORKER_METADATA.model]: MODEL,
        [WORKER_METADATA.role]: role,
        [WORKER_METADATA.device]: 'cpu',
        [WORKER_METADATA.subject]: subject,
        ...(shard === undefined
          ? {}
          : { [WORKER_METADATA.shard]: String(shard), [WORKER_METADATA.shards]: '2', [WORKER_METADATA.blocks]: `${shard}:${shard + 1}` }),
      },
      endpoints: [{ name: endpoint, subject, handler }],
      timeoutMs: 5000,
      concurrency: 2,
      log,
    }),
  );
}

const handlers = {
  text: (async (m) => {
    const prompts = m.meta.prompts as string[];
    return { meta: { tokens: prompts.map((p) => p.length), truncated: prompts.map(() => false) }, tensors: { text_embeddings: tensor('float32', [prompts.length, 4, 8], new Float32Array(prompts.length * 32)) } };
  }) satisfies StageHandler,
  shard0: (async (m) => ({ meta: {}, tensors: m.tensors, forwardTo: stageSubject(MODEL, 'denoiser', 1) })) satisfies StageHandler,
  shard1: (async (m) => {
    const s = m.tensors.sample;
    return { meta: {}, tensors: { model_output: tensor('float32', s.shape, new Float32Array(s.data.length).fill(0.25)) } };
  }) satisfies StageHandler,
  vae: (async (m) => ({
    meta: m.meta.video as Record<string, unknown>,
    tensors: { frames: tensor('uint8', [4], new Uint8Array(4)) },
    forwardTo: stageSubject(MODEL, 'video-encoder'),
  })) satisfies StageHandler,
  video: (async (m) => ({ meta: { frames: m.meta.num_frames, fps: m.meta.fps, width: m.meta.width, height: m.meta.height, codec: 'h264', bytes: MP4.byteLength }, tensors: { mp4: tensor('uint8', [MP4.byteLength], MP4) } })) satisfies StageHandler,
};

describe.skipIf(!NATS_BIN)('NatsPipeline with a real nats-server', () => {
  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    // The SDK reads the exporter's settings from the process environment.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.endpoint;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    telemetry = startTelemetry('spool-coordinator-test');
    const port = await freePort();
    url = `nats://127.0.0.1:${port}`;
    creds = createBusCredentials(busIdentities(2), { model: MODEL, shards: 2 });
    dir = mkdtempSync(path.join(tmpdir(), 'spool-pipeline-'));
    writeFileSync(path.join(dir, 'nats.conf'), `host: "127.0.0.1"\nport: ${port}\n${creds.authorization}`);
    server = spawn(NATS_BIN as string, ['-c', path.join(dir, 'nats.conf')], { stdio: 'ignore' });
    nc = await connectAs(COORDINATOR_IDENTITY, 'test-coordinator');
    await startWorker('text-encoder', handlers.text);
    await startWorker('denoiser', handlers.shard0, 0);
    await startWorker('denoiser', handlers.shard1, 1);
    await startWorker('vae-decoder', handlers.vae);
    await startWorker('video-encoder', handlers.video);
  });

  afterAll(async () => {
    for (const w of workers.values()) await w.drain(100);
    await nc?.close();
    server?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
    await telemetry?.shutdown();
    await otlp?.close();
  });

  const stack = (stageTimeoutMs = 5000) => {
    const topology = new DiscoveredTopology({ discover: natsDiscovery(nc), model: MODEL, blockCount: manifest.transformer.blocks.length, cacheMs: 0 });
    const metrics = new Metrics();
    const pipeline = new NatsPipeline({ nc, model: MODEL, stageTimeoutMs, lostAfterMs: 600, retry: RETRY, topology, observer: metrics.stages });
    return { ...testApp({ pipeline, topology, metrics }), topology, pipeline, metrics };
  };

  it('serves a whole request through every stage', async () => {
    const { app } = stack();
    try {
      expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'healthy' });
      const info = (await app.inject({ method: 'GET', url: '/info' })).json();
      expect(info.workers.map((w: { role: string; shard: number | null }) => `${w.role}:${w.shard}`).sort()).toEqual(
        ['denoiser:0', 'denoiser:1', 'text-encoder:null', 'vae-decoder:null', 'video-encoder:null'],
      );
      const res = await app.inject({
        method: 'POST',
        url: '/generate',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ prompt: 'a fox', num_frames: 9, fps: 8, num_inference_steps: 2, seed: 3 }),
      });
      expect(res.statusCode).toBe(200);
      expect(new Uint8Array(res.rawPayload)).toEqual(MP4);
      expect(res.headers['x-spool-frames']).toBe('9');

      const m = parseExposition((await app.inject({ method: 'GET', url: '/metrics' })).body);
      // One try per call: the text encoder once, the shard chain once per step, the VAE once; none sent again.
      const tries = Object.fromEntries(m.find('spool_stage_call_duration_seconds_count').map((s) => [`${s.labels.stage} ${s.labels.outcome}`, s.value]));
      expect(tries).toEqual({ 'text-encoder ok': 1, 'denoise.0 ok': 2, 'vae-decoder ok': 1 });
      expect(m.find('spool_stage_retries_total')).toEqual([]);
      // The bytes of the frames that crossed: the text encoder's request is exactly the prompts' frame.
      const sentText = encodeFrame({ meta: { prompts: ['', 'a fox'] }, tensors: {} }).byteLength;
      expect(m.value('spool_stage_bytes_total', { stage: 'text-encoder', direction: 'sent' })).toBe(sentText);
      // The embeddings: 2 × 4 × 8 float32 and more.
      expect(m.value('spool_stage_bytes_total', { stage: 'text-encoder', direction: 'received' })).toBeGreaterThan(2 * 4 * 8 * 4);
      // Each of the 2 steps sends sample [2, 3 latent frames, 2, 2, 2], text and timestep, and gets model_output back.
      const f32 = (shape: number[]) => tensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
      const step = { sample: f32([2, 3, 2, 2, 2]), encoder_hidden_states: f32([2, 4, 8]), timestep: f32([2]) };
      expect(m.value('spool_stage_bytes_total', { stage: 'denoise.0', direction: 'sent' })).toBe(2 * encodeFrame({ meta: {}, tensors: step }).byteLength);
      expect(m.value('spool_stage_bytes_total', { stage: 'denoise.0', direction: 'received' })).toBe(2 * encodeFrame({ meta: {}, tensors: { model_output: step.sample } }).byteLength);
      expect(m.value('spool_stage_bytes_total', { stage: 'vae-decoder', direction: 'received' })).toBeGreaterThan(MP4.byteLength);
      // Workers from the topology's latest discovery (the /health and /info above took it).
      const live = Object.fromEntries(m.find('spool_live_workers').map((s) => [s.labels.stage, s.value]));
      expect(live).toEqual({ 'text-encoder': 1, 'denoise.0': 1, 'denoise.1': 1, 'vae-decoder': 1, 'video-encoder': 1 });
    } finally {
      await app.close();
    }
  });

  it('names the missing shard when shard 0 has nobody to forward to', async () => {
    await workers.get('denoise.1')?.drain(100);
    workers.delete('denoise.1');
    const { app, pipeline, metrics } = stack(800);
    try {
      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(503);
      expect(health.json().missing).toEqual(['denoise.1']);

      // Past the route's fail-fast check, the call goes silent at shard 0's forward, is lost, and is explained.
      const sample = tensor('float32', [2, 1, 2, 2, 2], new Float32Array(16));
      const text = tensor('float32', [2, 4, 8], new Float32Array(64));
      const err = await pipeline.denoise(sample, text, tensor('float32', [2], new Float32Array([999, 999])), new AbortController().signal).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SPOOL_ERR_STAGE_UNAVAILABLE', stage: 'denoise.1', status: 503 });
      expect((err as Error).message).toBe('denoise.1 has no live worker (the call to denoise.0 was lost)');
      // Two tries, each lost; the first was sent again.
      const m = parseExposition(await metrics.exposition());
      expect(m.find('spool_stage_retries_total')).toEqual([{ name: 'spool_stage_retries_total', labels: { stage: 'denoise.0', code: 'SPOOL_ERR_CALL_LOST' }, value: 1 }]);
      expect(m.value('spool_stage_call_duration_seconds_count', { stage: 'denoise.0', outcome: 'SPOOL_ERR_CALL_LOST' })).toBe(2);
      expect(m.value('spool_live_workers', { stage: 'denoise.1' })).toBe(0);

      const res = await app.inject({ method: 'POST', url: '/generate', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"prompt":"a fox"}' });
      expect(res.statusCode).toBe(503);
      expect(res.json().message).toBe('cannot generate: blocks 1:2 have no live worker (denoise.1)');
    } finally {
      await app.close();
    }
  });

  it('reports no workers (not a discovery failure) when no service answers', async () => {
    const bare = await connectAs(COORDINATOR_IDENTITY, 'test-bare');
    try {
      // Another model's name: none of the running workers belong to it.
      const t = new DiscoveredTopology({ discover: natsDiscovery(bare), model: 'nobody-here', blockCount: 2 });
      const snap = await t.snapshot();
      expect(snap.error).toBeUndefined();
      expect(snap.missing).toEqual(['text-encoder', 'denoise.0', 'vae-decoder', 'video-encoder']);
    } finally {
      await bare.close();
    }
  });

  it('names a stage with no responder at all', async () => {
    await workers.get('text-encoder')?.drain(100);
    workers.delete('text-encoder');
    const { pipeline } = stack(800);
    const { err, parent } = await tracer().startActiveSpan('test', async (span) => {
      const e = await pipeline.encodeText(['', 'x'], new AbortController().signal).catch((x: unknown) => x);
      span.end();
      return { err: e, parent: span.spanContext().spanId };
    });
    expect(err).toMatchObject({ code: 'SPOOL_ERR_STAGE_UNAVAILABLE', stage: 'text-encoder' });
    expect((err as Error).message).toMatch(/^text-encoder has no live worker/);
    // The call was sent twice (RETRY.attempts): each try is its own failed span, numbered, with the bytes it sent.
    const deadline = Date.now() + 10_000;
    let tries = otlp.spans.filter((x) => x.parentSpanId === parent);
    while (tries.length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      tries = otlp.spans.filter((x) => x.parentSpanId === parent);
    }
    expect(tries.map((x) => x.attributes['spool.attempt']).sort()).toEqual([1, 2]);
    for (const t of tries) {
      expect(t.attributes).toMatchObject({ 'spool.stage': 'text-encoder', 'messaging.destination.name': stageSubject(MODEL, 'text-encoder') });
      expect(t.attributes['spool.bytes_sent']).toBeGreaterThan(0);
      expect(t.attributes).not.toHaveProperty('spool.bytes_received');
      expect(t.status.code).toBe(2);
    }
  });
});
