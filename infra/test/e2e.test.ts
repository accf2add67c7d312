/**
 * End to end: a real nats-server with the bus closed (one key per identity),
 * every stage in its own worker process running the ONNX files of
 * cogvideox-tiny on the CPU, a real ffmpeg, the coordinator over real HTTP
 * (its Prometheus metrics too), and a real OTLP/HTTP receiver for the traces.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busIdentities, connectNats, createBusCredentials, loadModelPackage, MODELS_DIR, writeBusCredentials } from '@spool/shared';
import { DEFAULT_LAYOUT } from '../src/config.ts';
import { loadLayout } from '../src/layout/load.ts';
import { modelFacts } from '../src/layout/resolve.ts';
import { parseExposition } from '../../coordinator/test/prom-text.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { decodeRgb, moovBeforeMdat, probe } from './helpers/media.ts';
import { startTestNats, type TestNats } from './helpers/nats.ts';
import { startOtlpReceiver, type OtlpReceiver } from './helpers/otlp-receiver.ts';

const TOKEN = 'e2e-token-0123456789abcdef';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;
const SERVICES = ['spool-coordinator', 'spool-text-encoder', 'spool-denoise-0', 'spool-denoise-1', 'spool-vae-decoder', 'spool-video-encoder'];

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
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
      layout: loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } }),
      tokens: [TOKEN],
      port: 0,
      logDir: path.join(dir, 'logs'),
      // A wider batching window than the default, so that concurrent requests reliably meet.
      coordinatorEnv: { SPOOL_BATCH_WINDOW_MS: '1000' },
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '200',
        SPOOL_LOG_LEVEL: 'info',
      },
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
    const spans = await until('spans of all six services', async () => {
      const mine = otlp.spans.filter((s) => s.traceId === traceId);
      const services = new Set(mine.map((s) => s.service));
      return SERVICES.every((s) => services.has(s)) && mine.some((s) => s.service === 'spool-coordinator' && !s.parentSpanId) ? mine : undefined;
    });
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
      otlp.spans.find((s) => traceIds.includes(s.traceId) && Number(s.attributes['spool.batch_size'] ?? 1) > 1),
    );
    expect(Number(batched.attributes['spool.batch_size'])).toBeGreaterThan(1);
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
