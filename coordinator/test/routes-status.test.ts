import { afterEach, describe, expect, it } from 'vitest';
import { ALL_WORKERS, FakeTopology, manifest, testApp, worker } from './helpers.ts';

let current: ReturnType<typeof testApp> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

describe('GET /health', () => {
  it('200 healthy when every stage and shard has a live worker', async () => {
    current = testApp();
    const res = await current.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'healthy' });
  });

  it('503 naming the missing shard', async () => {
    const topology = new FakeTopology(ALL_WORKERS.filter((w) => !(w.role === 'denoiser' && w.shard === 1)));
    current = testApp({ topology });
    const res = await current.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', missing: ['denoise.1'], message: 'blocks 1:2 have no live worker (denoise.1)' });
  });

  it('200 with replicas of a shard, and still 200 when one of them goes', async () => {
    const replica = { ...worker('denoiser', 1), id: 'id-denoiser-1-second' };
    const topology = new FakeTopology([...ALL_WORKERS, replica]);
    current = testApp({ topology });
    expect((await current.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    topology.workers = topology.workers.filter((w) => w.id !== 'id-denoiser-1');
    const res = await current.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'healthy' });
  });

  it('503 saying how the replicas of a shard disagree', async () => {
    const stray = { ...worker('denoiser', 1), id: 'id-stray', blocks: '0:2' };
    current = testApp({ topology: new FakeTopology([...ALL_WORKERS, stray]) });
    const res = await current.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'unhealthy', missing: ['denoise.1'], message: 'denoise.1 workers disagree on their blocks: 1:2 and 0:2' });
  });

  it('ignores workers of another model and lists every missing stage', async () => {
    const other = { ...worker('text-encoder'), model: 'another-model' };
    current = testApp({ topology: new FakeTopology([other, worker('denoiser', 0)]) });
    const res = await current.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(503);
    expect(res.json().missing).toEqual(['text-encoder', 'denoise.1', 'vae-decoder', 'video-encoder']);
  });
});

describe('GET /info', () => {
  it('has exactly the documented shape, plus workers and limits', async () => {
    current = testApp();
    const res = await current.app.inject({ method: 'GET', url: '/info' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['model', 'is_loaded', 'error', 'config', 'system_info', 'workers', 'limits', 'queue']);
    expect(body).toEqual({
      model: manifest.name,
      is_loaded: true,
      error: null,
      config: { default_steps: 4, default_guidance: 6, default_guidance_rescale: 0, min_frames: 8, max_frames: 100, default_fps: 24, default_frames: 9, temporal_compression: 4 },
      system_info: { cpu_usage: '10%', memory_usage: '30%', gpu_usage: 'n/a' },
      workers: ALL_WORKERS.map((w) => ({ role: w.role, shard: w.shard ?? null, blocks: w.blocks ?? null, device: 'cpu', id: w.id })),
      limits: { ...manifest.limits },
      // Two tokens share the 18 places: each may hold 9.
      queue: { running: 0, waiting: 0, max_concurrent: 2, max_queue: 16, max_per_token: 9, rate_limit_per_minute: 120, rate_burst: 60, estimated_wait_s: 0 },
    });
  });

  it('reports what is missing as the error', async () => {
    current = testApp({ topology: new FakeTopology(ALL_WORKERS.filter((w) => w.role !== 'vae-decoder')) });
    const body = (await current.app.inject({ method: 'GET', url: '/info' })).json();
    expect(body.is_loaded).toBe(false);
    expect(body.error).toBe('vae-decoder has no live worker');
  });

  it('answers quickly with real systeminformation', async () => {
    const { CachedSystemInfo } = await import('../src/http/system-info.ts');
    current = testApp({ systemInfo: new CachedSystemInfo({ waitMs: 200 }) });
    const started = performance.now();
    const res = await current.app.inject({ method: 'GET', url: '/info' });
    expect(performance.now() - started).toBeLessThan(1000);
    const info = res.json().system_info;
    for (const v of Object.values(info)) expect(v).toMatch(/^(\d{1,3}%|n\/a)$/);
  });
});

describe('unknown routes', () => {
  it('404 JSON', async () => {
    current = testApp();
    const res = await current.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: 'Not Found',
      code: 'SPOOL_ERR_NOT_FOUND',
      message: 'no route for GET /nope; the routes are GET /health, GET /info, GET /requests, POST /generate, GET /metrics, /v1/videos (6 routes), GET /openapi.json, GET /docs and GET /',
    });
  });
});
