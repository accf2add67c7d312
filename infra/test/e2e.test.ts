/**
 * End to end: a real nats-server with the bus closed (one key per identity),
 * every stage in its own worker process running the ONNX files of
 * cogvideox-tiny on the CPU, a real ffmpeg, the coordinator over real HTTP
 * (its Prometheus metrics too), and a real OTLP/HTTP receiver for the traces.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busIdentities,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  keyFileOf,
  latentShape,
  loadModelPackage,
  MODELS_DIR,
  numel,
  planFrames,
  stageSubject,
  startOtlpReceiver,
  writeBusCredentials,
  type OtlpReceiver,
  type ReceivedSpan,
} from '@spool/shared';
import { formatRange } from '@spool/stages';
import { DEFAULT_LAYOUT } from '../src/config.ts';
import { loadLayout } from '../src/layout/load.ts';
import { modelFacts } from '../src/layout/resolve.ts';
import { parseExposition } from '../../coordinator/test/prom-text.ts';
import { freePort } from '../src/net.ts';
import { coordinatorSpec } from '../src/processes.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { Supervisor } from '../src/supervisor.ts';
import { decodeRgb, moovBeforeMdat, probe } from './helpers/media.ts';
import { startTestNats, type TestNats } from './helpers/nats.ts';
import { until } from './helpers/until.ts';

const TOKEN = 'e2e-token-0123456789abcdef';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;
const SERVICES = ['spool-coordinator', 'spool-text-encoder', 'spool-denoise-0', 'spool-denoise-1', 'spool-vae-decoder', 'spool-video-encoder'];
const LAYOUT = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } });
const OTLP_ENV = { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' };
const CLIENT = 3;
const SERVER = 2;

/** Whether any attribute of the span or of its events holds `text`. */
const mentions = (span: ReceivedSpan, text: string): boolean => JSON.stringify([span.attributes, span.events]).includes(text);

/** Every span of one trace, once all six services sent theirs and the root (which ends last) is in. */
async function spansOfTrace(otlp: OtlpReceiver, traceId: string): Promise<ReceivedSpan[]> {
  return until('spans of all six services', async () => {
    const mine = otlp.spans.filter((s) => s.traceId === traceId);
    const services = new Set(mine.map((s) => s.service));
    return SERVICES.every((s) => services.has(s)) && mine.some((s) => s.service === 'spool-coordinator' && !s.parentSpanId) ? mine : undefined;
  });
}

describe('spool end to end', () => {
  let stack: Stack;
  let otlp: OtlpReceiver;
  let nats: TestNats;
  let dir: string;

  const generate = (body: unknown, token: string | null = TOKEN): Promise<Response> =>
    fetch(`${stack.url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const saveMp4 = async (res: Response, name: string): Promise<{ file: string; bytes: Uint8Array }> => {
    const bytes = new Uint8Array(await res.arrayBuffer());
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return { file, bytes };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-e2e-'));
    otlp = await startOtlpReceiver();
    const creds = createBusCredentials(busIdentities(2), { model: manifest.name, shards: 2 });
    writeBusCredentials(path.join(dir, 'bus'), creds);
    nats = await startTestNats({ extraConfig: creds.authorization });
    stack = await startStack({
      natsUrl: nats.url,
      busCredentialsDir: path.join(dir, 'bus'),
      modelDir: MODEL_DIR,
      layout: LAYOUT,
      tokens: [TOKEN],
      port: 0,
      logDir: path.join(dir, 'logs'),
      // A wider batching window than the default, so that concurrent requests reliably meet.
      coordinatorEnv: { SPOOL_BATCH_WINDOW_MS: '1000' },
      env: { ...OTLP_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, SPOOL_LOG_LEVEL: 'info' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await nats?.stop();
    await otlp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports healthy, and /info in the documented shape with the live topology', async () => {
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });

    const info = (await (await fetch(`${stack.url}/info`)).json()) as Record<string, any>;
    expect(info.model).toBe(manifest.name);
    expect(info.is_loaded).toBe(true);
    expect(info.error).toBeNull();
    expect(info.config).toEqual({
      default_steps: manifest.defaults.num_inference_steps,
      default_guidance: manifest.defaults.guidance_scale,
      default_guidance_rescale: manifest.defaults.guidance_rescale,
      min_frames: manifest.limits.min_frames,
      max_frames: manifest.limits.max_frames,
      default_fps: manifest.defaults.fps,
      default_frames: manifest.defaults.num_frames,
      temporal_compression: manifest.latent.temporal_compression,
    });
    for (const key of ['cpu_usage', 'memory_usage', 'gpu_usage']) expect(typeof info.system_info[key]).toBe('string');
    const roles = (info.workers as Array<{ role: string; shard?: number }>).map((w) => (w.role === 'denoiser' ? `denoise.${w.shard}` : w.role));
    expect(roles.sort()).toEqual(['denoise.0', 'denoise.1', 'text-encoder', 'vae-decoder', 'video-encoder']);
  });

  it.each([
    [8, 8],
    [49, 24],
    [100, 30],
  ])('returns an H.264 MP4 of exactly %i frames at %i fps', async (frames, fps) => {
    const res = await generate({ prompt: 'a red circle moving left on a blue background', num_frames: frames, fps, guidance_scale: 6, num_inference_steps: 3, seed: 7 });
    expect(res.status, await res.clone().text().catch(() => '')).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const { file, bytes } = await saveMp4(res, `f${frames}.mp4`);
    expect(moovBeforeMdat(bytes)).toBe(true);
    expect(await probe(file)).toEqual({
      codec: 'h264',
      pixFmt: 'yuv420p',
      frames,
      fps: `${fps}/1`,
      width: manifest.video.output_width,
      height: manifest.video.output_height,
    });
  });

  it('gives identical frames for the same seed and different frames for another seed', async () => {
    const body = { prompt: 'green square, going up, white background', num_frames: 9, fps: 8, num_inference_steps: 3, seed: 1234 };
    const a = await saveMp4(await generate(body), 'a.mp4');
    const b = await saveMp4(await generate(body), 'b.mp4');
    const c = await saveMp4(await generate({ ...body, seed: 99 }), 'c.mp4');
    const [fa, fb, fc] = await Promise.all([decodeRgb(a.file), decodeRgb(b.file), decodeRgb(c.file)]);
    expect(fa.length).toBe(9 * manifest.video.output_width * manifest.video.output_height * 3);
    expect(fa.equals(fb)).toBe(true);
    expect(fa.equals(fc)).toBe(false);
  });

  it('traces one request across all six services under a single HTTP root span', async () => {
    const res = await generate({ prompt: 'snow falling at night', num_frames: 8, num_inference_steps: 2, seed: 3 });
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-spool-trace-id');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await res.arrayBuffer();
    const spans = await spansOfTrace(otlp, traceId!);
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !s.parentSpanId);
    expect(roots).toHaveLength(1);
    expect(roots[0].service).toBe('spool-coordinator');
    expect(roots[0].name).toMatch(/generate/);
    for (const s of spans.filter((x) => x.parentSpanId)) expect(ids.has(s.parentSpanId!), `parent of ${s.service} ${s.name}`).toBe(true);
    // Each of the two denoising steps reaches both shards.
    for (const service of ['spool-denoise-0', 'spool-denoise-1']) expect(spans.filter((s) => s.service === service)).toHaveLength(2);
    expect(otlp.rejected).toEqual([]);
  });

  it('puts what an operator filters on onto real spans: the request, the queue wait, each stage call and each worker', async () => {
    const res = await generate({ prompt: 'a red circle moving left on a blue background', num_frames: 8, num_inference_steps: 2, seed: 5 });
    expect(res.status).toBe(200);
    const mp4 = new Uint8Array(await res.arrayBuffer());
    const requestId = res.headers.get('x-spool-request-id');
    const spans = await spansOfTrace(otlp, res.headers.get('x-spool-trace-id')!);
    const root = spans.find((s) => !s.parentSpanId)!;
    const plan = planFrames(8, manifest.latent.temporal_compression);
    expect(root.attributes).toMatchObject({
      'spool.request_id': requestId,
      'spool.caller': 'token-0',
      'spool.model': manifest.name,
      'spool.num_frames': 8,
      'spool.generated_frames': plan.generated,
      'spool.steps': 2,
      'spool.seed': 5,
      'spool.guidance_scale': manifest.defaults.guidance_scale,
      'spool.outcome': 'completed',
      'spool.retries': 0,
    });

    // The coordinator's spans all name the request; admission is its own span under the root, before any stage call.
    const coordinator = spans.filter((s) => s.service === 'spool-coordinator');
    for (const s of coordinator) expect(s.attributes['spool.request_id'], s.name).toBe(requestId);
    const waits = coordinator.filter((s) => s.name === 'queue wait');
    expect(waits).toHaveLength(1);
    expect(waits[0].parentSpanId).toBe(root.spanId);
    expect(waits[0].attributes).toMatchObject({ 'spool.queued': false, 'spool.queue.running': 0 });
    // A span's start is read in whole ms: allow that one.
    expect(waits[0].endMs).toBeLessThanOrEqual(Math.min(...coordinator.filter((s) => s.kind === CLIENT).map((s) => s.startMs)) + 1);

    // Every stage call: its stage, the first attempt, the frame bytes each way, matching what the worker saw.
    const calls = spans.filter((s) => s.kind === CLIENT);
    expect(calls.map((s) => s.attributes['spool.stage']).sort()).toEqual(['denoise.0', 'denoise.0', 'text-encoder', 'vae-decoder']);
    const served = (service: string) => spans.filter((s) => s.service === service && s.kind === SERVER);
    for (const call of calls) {
      expect(call.attributes).toMatchObject({ 'messaging.system': 'nats', 'spool.attempt': 1 });
      const server = spans.find((s) => s.parentSpanId === call.spanId)!;
      expect(server.kind, call.name).toBe(SERVER);
      expect(call.attributes['spool.bytes_sent'], call.name).toBe(server.attributes['spool.bytes_received']);
      expect(call.attributes['spool.bytes_received'], call.name).toBeGreaterThan(0);
    }
    const [vaeCall] = calls.filter((c) => c.attributes['spool.stage'] === 'vae-decoder');
    expect(vaeCall.attributes['spool.bytes_received']).toBe(served('spool-video-encoder')[0].attributes['spool.bytes_sent']);

    // Every worker: its static facts from its role, rows and tensor bytes of the call.
    const workerSpans = spans.filter((s) => s.service !== 'spool-coordinator');
    for (const s of workerSpans) {
      expect(s.kind, `${s.service} ${s.name}`).toBe(SERVER);
      expect(s.attributes).toMatchObject({ 'spool.model': manifest.name, 'spool.device': 'cpu', 'messaging.system': 'nats' });
      expect(typeof s.attributes['spool.worker_id']).toBe('string');
      expect(s.attributes['messaging.consumer.group.name']).toBe(`q.${s.attributes['messaging.destination.name']}`);
    }
    const [text] = served('spool-text-encoder');
    expect(text.attributes).toMatchObject({ 'spool.role': 'text-encoder', 'spool.stage': 'text-encoder', 'spool.batch_rows': 2, 'spool.tensor_bytes_in': 0 });
    const latentBytes = 4 * numel(latentShape(manifest, plan.latentFrames, 2));
    for (const shard of LAYOUT.shards) {
      const mine = served(`spool-denoise-${shard.shard}`);
      expect(mine).toHaveLength(2);
      for (const s of mine) {
        expect(s.attributes).toMatchObject({
          'spool.role': 'denoiser',
          'spool.stage': shard.stage,
          'spool.shard': shard.shard,
          'spool.shards': 2,
          'spool.blocks': formatRange(shard.blocks),
          'spool.batch_rows': 2,
        });
      }
    }
    // Shard 0 takes the latents of both branches, the text encoder's embeddings and two timesteps, and forwards to shard 1,
    // whose answer is the v-prediction, shaped like the latents.
    const [first] = served('spool-denoise-0');
    expect(first.attributes['spool.tensor_bytes_in']).toBe(latentBytes + Number(text.attributes['spool.tensor_bytes_out']) + 2 * 4);
    expect(first.attributes['spool.forwarded_to']).toBe(stageSubject(manifest.name, 'denoiser', 1));
    for (const s of served('spool-denoise-1')) expect(s.attributes['spool.tensor_bytes_out']).toBe(latentBytes);
    const [vae] = served('spool-vae-decoder');
    expect(vae.attributes).toMatchObject({ 'spool.stage': 'vae-decoder', 'spool.batch_rows': 1, 'spool.tensor_bytes_in': latentBytes / 2 });
    expect(vae.attributes['spool.forwarded_to']).toBe(stageSubject(manifest.name, 'video-encoder'));
    const [video] = served('spool-video-encoder');
    expect(video.parentSpanId).toBe(vae.spanId);
    expect(video.attributes).toMatchObject({ 'spool.stage': 'video-encoder', 'spool.batch_rows': 1, 'spool.tensor_bytes_out': mp4.byteLength });
    expect(video.attributes).not.toHaveProperty('spool.threads');
  });

  it('keeps the prompt out of every span and every log line by default', async () => {
    const prompt = 'a green square drifting up past lantern 7f3a';
    const negative = 'grainy sepia 9c1e';
    const res = await generate({ prompt, negative_prompt: negative, num_frames: 8, num_inference_steps: 2, seed: 8 });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const spans = await spansOfTrace(otlp, res.headers.get('x-spool-trace-id')!);
    expect(spans.length).toBeGreaterThan(10);
    for (const s of otlp.spans) {
      expect(mentions(s, prompt), `${s.service} ${s.name} carries the prompt`).toBe(false);
      expect(mentions(s, negative), `${s.service} ${s.name} carries the negative prompt`).toBe(false);
    }
    const logs = readdirSync(path.join(dir, 'logs'));
    expect(logs.length).toBeGreaterThanOrEqual(6);
    for (const file of logs) {
      const text = readFileSync(path.join(dir, 'logs', file), 'utf8');
      expect(text.length, file).toBeGreaterThan(0);
      expect(text.includes(prompt) || text.includes(negative), `${file} holds the prompt`).toBe(false);
    }
  });

  it('puts the prompts on the root span alone with SPOOL_TRACE_PROMPTS=1', async () => {
    // A second coordinator on the same bus and workers, with prompts in its traces.
    const port = await freePort('127.0.0.1');
    const supervisor = new Supervisor(REPO_ROOT, path.join(dir, 'logs-prompts'), undefined);
    const spec = coordinatorSpec({
      natsUrl: nats.url,
      modelDir: MODEL_DIR,
      env: { ...OTLP_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, SPOOL_LOG_LEVEL: 'info' },
      coordinatorEnv: {
        SPOOL_TRACE_PROMPTS: '1',
        SPOOL_HOST: '127.0.0.1',
        SPOOL_PORT: String(port),
        SPOOL_API_TOKENS: TOKEN,
        SPOOL_NATS_KEY_FILE: keyFileOf(path.join(dir, 'bus'), COORDINATOR_IDENTITY),
      },
    });
    const handle = supervisor.start(spec);
    try {
      await until('the second coordinator to be healthy', async () => ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined));
      const prompt = 'a purple circle moving right beside beacon 4d2b';
      const negative = 'washed out 6e0f';
      const res = await fetch(`http://127.0.0.1:${port}/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ prompt, negative_prompt: negative, num_frames: 8, num_inference_steps: 2, seed: 9 }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const spans = await spansOfTrace(otlp, res.headers.get('x-spool-trace-id')!);
      const root = spans.find((s) => !s.parentSpanId)!;
      expect(root.attributes).toMatchObject({ 'spool.prompt': prompt, 'spool.negative_prompt': negative });
      for (const s of otlp.spans.filter((x) => x !== root)) {
        expect(mentions(s, prompt) || mentions(s, negative), `${s.service} ${s.name} carries a prompt`).toBe(false);
      }
    } finally {
      await handle.stop(15_000);
      supervisor.close();
    }
  });

  it('merges concurrent same-shape requests into shared denoiser calls without changing their videos', async () => {
    const bodies = [11, 22, 33].map((seed) => ({ prompt: 'a purple triangle moving right on a white background', num_frames: 9, fps: 8, num_inference_steps: 6, seed }));
    const alone: Buffer[] = [];
    for (const [i, body] of bodies.entries()) alone.push(await decodeRgb((await saveMp4(await generate(body), `alone-${i}.mp4`)).file));
    const together = await Promise.all(bodies.map((body) => generate(body)));
    const traceIds = together.map((r) => r.headers.get('x-spool-trace-id'));
    for (const [i, res] of together.entries()) {
      expect(res.status).toBe(200);
      const frames = await decodeRgb((await saveMp4(res, `together-${i}.mp4`)).file);
      expect(frames.length).toBe(alone[i].length);
      let worst = 0;
      for (let k = 0; k < frames.length; k++) worst = Math.max(worst, Math.abs(frames[k] - alone[i][k]));
      expect(worst, `request ${i}`).toBeLessThanOrEqual(2);
    }
    // At least one denoiser call carried more than one request.
    const batched = await until('a merged denoiser call', async () =>
      otlp.spans.find((s) => s.name === 'denoise batch' && traceIds.includes(s.traceId) && Number(s.attributes['spool.batch_size'] ?? 1) > 1),
    );
    const size = Number(batched.attributes['spool.batch_size']);
    expect(size).toBeGreaterThan(1);
    // The merged call names every request in it, and so does its stage call; the shards see rows of them all.
    const requestIds = together.map((r) => r.headers.get('x-spool-request-id'));
    const named = batched.attributes['spool.request_ids'] as string[];
    expect(named).toHaveLength(size);
    for (const id of named) expect(requestIds).toContain(id);
    const call = await until('the stage call of the merged denoiser call', async () => otlp.spans.find((s) => s.parentSpanId === batched.spanId && s.kind === CLIENT));
    expect(call.attributes['spool.request_ids']).toEqual(named);
    expect(call.attributes).not.toHaveProperty('spool.request_id');
    const shard = await until('the shard span of the merged call', async () => otlp.spans.find((s) => s.parentSpanId === call.spanId));
    expect(shard.attributes['spool.batch_rows']).toBe(2 * size);
  });

  it('exposes Prometheus metrics: stage call times for every stage called, live workers per stage, bytes per hop', async () => {
    const scrape = async () => {
      const res = await fetch(`${stack.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      return { text, m: parseExposition(text) };
    };
    const { m: before } = await scrape();
    const prompt = 'an orange kite over green hills, metrics-e2e';
    const steps = 3;
    const res = await generate({ prompt, num_frames: 9, fps: 8, num_inference_steps: steps, seed: 5 });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const { text, m: after } = await scrape();
    const grew = (name: string, labels: Record<string, string> = {}): number => after.sum(name, labels) - before.sum(name, labels);

    // One try per call: the text encoder once, the shard chain once per step, the VAE (and video encoder) once.
    expect(grew('spool_stage_call_duration_seconds_count', { stage: 'text-encoder', outcome: 'ok' })).toBe(1);
    expect(grew('spool_stage_call_duration_seconds_count', { stage: 'denoise.0', outcome: 'ok' })).toBe(steps);
    expect(grew('spool_stage_call_duration_seconds_count', { stage: 'vae-decoder', outcome: 'ok' })).toBe(1);
    for (const stage of ['text-encoder', 'denoise.0', 'vae-decoder']) expect(grew('spool_stage_call_duration_seconds_sum', { stage }), stage).toBeGreaterThan(0);
    // Bytes per hop: each step sends the two CFG rows of latents [2, 3, C, h, w] (and the text) and gets as many back; the MP4 comes back from the VAE call.
    const latentBytes = 2 * 3 * manifest.latent.channels * (manifest.video.height / manifest.latent.spatial_compression) * (manifest.video.width / manifest.latent.spatial_compression) * 4;
    expect(grew('spool_stage_bytes_total', { stage: 'denoise.0', direction: 'sent' })).toBeGreaterThan(steps * latentBytes);
    expect(grew('spool_stage_bytes_total', { stage: 'denoise.0', direction: 'received' })).toBeGreaterThanOrEqual(steps * latentBytes);
    expect(grew('spool_stage_bytes_total', { stage: 'vae-decoder', direction: 'sent' })).toBeGreaterThanOrEqual(latentBytes / 2);
    for (const stage of ['text-encoder', 'vae-decoder']) expect(grew('spool_stage_bytes_total', { stage, direction: 'received' }), stage).toBeGreaterThan(0);
    expect(grew('spool_stage_bytes_total', { stage: 'text-encoder', direction: 'sent' })).toBeGreaterThan(prompt.length);

    // Every stage has its one worker; the generation and its steps are counted; the process metrics are there.
    const live = Object.fromEntries(after.find('spool_live_workers').map((s) => [s.labels.stage, s.value]));
    expect(live).toEqual({ 'text-encoder': 1, 'denoise.0': 1, 'denoise.1': 1, 'vae-decoder': 1, 'video-encoder': 1 });
    expect(grew('spool_generation_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    expect(grew('spool_denoise_steps_total')).toBe(steps);
    expect(grew('spool_http_requests_total', { route: '/generate', status: '200' })).toBe(1);
    expect(after.value('spool_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).not.toContain(prompt);
    expect(text).not.toContain(TOKEN);
  });

  it('serves over a closed bus: a client without a key cannot connect to it', async () => {
    await expect(connectNats({ servers: stack.natsUrl, name: 'anonymous', waitOnFirstConnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it('refuses a missing or wrong token with 401 and WWW-Authenticate', async () => {
    for (const token of [null, 'wrong-token']) {
      const res = await generate({ prompt: 'a blue triangle' }, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await res.json()) as object).toHaveProperty('message');
    }
  });

  it('answers bad bodies with 400 and a message naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      ['{"prompt": "a red', /JSON/i],
      [{ num_frames: 9 }, /prompt/],
      [{ prompt: '   ' }, /prompt/],
      [{ prompt: 'x', num_frames: 500 }, /num_frames/],
      [{ prompt: 'x', fps: 0 }, /fps/],
      [{ prompt: 'x', guidance_scale: -1 }, /guidance_scale/],
      [{ prompt: 'x', num_inference_steps: 0 }, /num_inference_steps/],
      [{ prompt: 'x', num_frames: 'many' }, /num_frames/],
    ];
    for (const [body, pattern] of cases) {
      const res = await generate(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const json = (await res.json()) as { message: string };
      expect(json.message, JSON.stringify(body)).toMatch(pattern);
    }
  });

  it('turns /health 503 naming the shard whose worker stopped, fails requests clearly, and recovers', async () => {
    await stack.stopProcess('denoise.1');
    const down = await until('health to turn 503', async () => {
      const res = await fetch(`${stack.url}/health`);
      return res.status === 503 ? ((await res.json()) as Record<string, unknown>) : undefined;
    });
    expect(down.status).not.toBe('healthy');
    expect(JSON.stringify(down)).toContain('denoise.1');

    const res = await generate({ prompt: 'a red circle moving left', num_frames: 8, num_inference_steps: 2 });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { message: string }).message).toContain('denoise.1');

    await stack.startProcess('denoise.1');
    await until('health to return to 200', async () => ((await fetch(`${stack.url}/health`)).status === 200 ? true : undefined));
    const again = await generate({ prompt: 'a red circle moving left', num_frames: 8, num_inference_steps: 2 });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
  });
});
