/**
 * GET /metrics through inject() with the fake pipeline: what a few requests
 * leave in the counters and histograms, the scrape-time gauges (admission,
 * the topology's latest picture, without discovering), the optional scrape
 * token, and the registry other modules add metrics to. Every exposition is
 * read with a parser that refuses malformed text.
 */
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wireError } from '@spool/shared';
import { Drain } from '../src/lifecycle/drain.ts';
import { Metrics } from '../src/metrics/metrics.ts';
import { ALL_WORKERS, auth, FakeTopology, testApp, TOKEN, worker, until } from './helpers.ts';
import { parseExposition, type Exposition } from './prom-text.ts';

const PROMPT = 'a lighthouse made of marmalade, secret-prompt-91c4';
const SEED = 3_141_592_653;

const post = (body: object, headers: Record<string, string> = auth) => ({
  method: 'POST' as const,
  url: '/generate',
  headers: { 'content-type': 'application/json', ...headers },
  payload: JSON.stringify(body),
});

let apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const app of apps) await app.close();
  apps = [];
});

function app(over: Parameters<typeof testApp>[0] = {}) {
  const made = testApp(over);
  apps.push(made.app);
  return made;
}

async function scrape(a: ReturnType<typeof testApp>['app'], headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await a.inject({ method: 'GET', url: '/metrics', headers });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(res.body);
}

describe('GET /metrics after a few generations', () => {
  it('counts what the requests did: completions, the refusal, HTTP by route and status, phases, steps, batch sizes', async () => {
    const metrics = new Metrics();
    const { app: a, pipeline } = app({ metrics, maxConcurrent: 1, maxQueue: 1, maxPerToken: 2 });
    let open = (): void => undefined;
    const gate = new Promise<void>((r) => (open = r));
    pipeline.hooks.denoise = () => gate;
    const read = async () => parseExposition(await metrics.exposition());

    // A runs and holds the denoiser; B waits; C finds the queue full.
    const first = a.inject(post({ prompt: PROMPT, num_frames: 9, num_inference_steps: 3, seed: SEED }));
    await until(() => pipeline.calls.denoise.length === 1);
    const second = a.inject(post({ prompt: PROMPT, num_frames: 9, num_inference_steps: 2, seed: SEED }));
    await until(async () => (await read()).value('spool_queue_waiting') === 1);
    const refused = await a.inject(post({ prompt: PROMPT, num_frames: 9, seed: SEED }));
    expect(refused.statusCode).toBe(429);
    expect(refused.json().code).toBe('SPOOL_ERR_QUEUE_FULL');

    const during = await scrape(a);
    expect(during.value('spool_queue_running')).toBe(1);
    expect(during.value('spool_queue_waiting')).toBe(1);

    open();
    const done = await Promise.all([first, second]);
    expect(done.map((r) => r.statusCode)).toEqual([200, 200]);
    const invalid = await a.inject(post({ prompt: PROMPT, num_frames: 5000 }));
    expect(invalid.statusCode).toBe(400);

    const res = await a.inject({ method: 'GET', url: '/metrics' });
    const m = parseExposition(res.body);

    // Generations: two completed, one refused (failed), by its code.
    expect(m.value('spool_generation_duration_seconds_count', { outcome: 'completed' })).toBe(2);
    expect(m.value('spool_generation_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(m.value('spool_generation_duration_seconds_count', { outcome: 'cancelled' })).toBeUndefined();
    expect(m.find('spool_admission_refusals_total')).toEqual([{ name: 'spool_admission_refusals_total', labels: { code: 'SPOOL_ERR_QUEUE_FULL' }, value: 1 }]);
    expect(m.find('spool_generation_errors_total')).toEqual([{ name: 'spool_generation_errors_total', labels: { code: 'SPOOL_ERR_QUEUE_FULL' }, value: 1 }]);
    // Every phase of the two completed ones; B's queue wait lasted until A finished.
    for (const phase of ['queued', 'encoding', 'denoising', 'decoding']) {
      expect(m.value('spool_generation_phase_duration_seconds_count', { phase }), phase).toBe(2);
    }
    expect(m.value('spool_denoise_steps_total')).toBe(5);
    // Nothing else merged with them: 5 denoiser calls of one request each.
    expect(m.value('spool_denoise_batch_size_count')).toBe(5);
    expect(m.value('spool_denoise_batch_size_sum')).toBe(5);
    expect(m.value('spool_denoise_batch_size_bucket', { le: '1' })).toBe(5);
    expect(m.value('spool_queue_running')).toBe(0);
    expect(m.value('spool_queue_waiting')).toBe(0);

    // HTTP by route pattern and status; the scrape counts itself only once it is answered.
    const http = m.find('spool_http_requests_total').map((s) => `${s.labels.method} ${s.labels.route} ${s.labels.status} ${s.value}`);
    expect(http.sort()).toEqual(['GET /metrics 200 1', 'POST /generate 200 2', 'POST /generate 400 1', 'POST /generate 429 1']);
    expect(m.value('spool_http_request_duration_seconds_count', { method: 'POST', route: '/generate' })).toBe(4);
    expect(m.types.get('spool_http_request_duration_seconds')).toBe('histogram');

    // No prompt, token, seed or request id anywhere in the text, labels included.
    const ids = [...done, refused].map((r) => String(r.headers['x-spool-request-id']));
    expect(ids.every((id) => id.length > 10)).toBe(true);
    for (const secret of [PROMPT, 'marmalade', TOKEN, ...ids]) expect(res.body).not.toContain(secret);
    const labelValues = m.samples.flatMap((s) => Object.values(s.labels));
    for (const v of labelValues) {
      expect(v).not.toContain(String(SEED));
      expect(v).not.toMatch(/token-\d/);
    }
    expect(new Set(m.find('spool_http_requests_total').map((s) => s.labels.route))).toEqual(new Set(['/generate', '/metrics']));
  });

  it('names the code of a failed generation, and keeps a phase cut short out of the phase times', async () => {
    const { app: a, pipeline } = app();
    pipeline.hooks.decode = () => {
      throw wireError('SPOOL_ERR_MODEL', 'vae-decoder: the model failed', { stage: 'vae-decoder' });
    };
    const res = await a.inject(post({ prompt: 'a fox', num_frames: 9, num_inference_steps: 2 }));
    expect(res.statusCode).toBe(502);
    const m = await scrape(a);
    expect(m.value('spool_generation_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(m.value('spool_generation_duration_seconds_count', { outcome: 'completed' })).toBeUndefined();
    expect(m.find('spool_generation_errors_total').map((s) => [s.labels.code, s.value])).toEqual([['SPOOL_ERR_MODEL', 1]]);
    expect(m.find('spool_admission_refusals_total')).toEqual([]);
    expect(m.value('spool_generation_phase_duration_seconds_count', { phase: 'denoising' })).toBe(1);
    expect(m.value('spool_generation_phase_duration_seconds_count', { phase: 'decoding' })).toBeUndefined();
    expect(m.value('spool_http_requests_total', { route: '/generate', status: '502' })).toBe(1);
  });

  it('sums the batch sizes to the request-steps served when concurrent requests merge', async () => {
    const { app: a, pipeline } = app({ maxConcurrent: 3, batchWindowMs: 50 });
    const bodies = [1, 2, 3].map((seed) => post({ prompt: 'a fox', num_frames: 9, num_inference_steps: 4, seed }));
    const res = await Promise.all(bodies.map((b) => a.inject(b)));
    expect(res.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const m = await scrape(a);
    // Each denoiser call is one observation of the requests it carried.
    expect(m.value('spool_denoise_batch_size_count')).toBe(pipeline.calls.denoise.length);
    expect(m.value('spool_denoise_batch_size_sum')).toBe(12);
    expect(m.value('spool_denoise_steps_total')).toBe(12);
  });
});

describe('scrape-time gauges', () => {
  it('lists live workers per stage from the latest picture, 0 for a stage with none, without discovering', async () => {
    const topology = new FakeTopology([...ALL_WORKERS.filter((w) => w.role !== 'video-encoder'), worker('denoiser', 0)]);
    const { app: a } = app({ topology });
    const snapshot = vi.spyOn(topology, 'snapshot');
    const m = await scrape(a);
    expect(snapshot).not.toHaveBeenCalled();
    const workers = Object.fromEntries(m.find('spool_live_workers').map((s) => [s.labels.stage, s.value]));
    expect(workers).toEqual({ 'text-encoder': 1, 'denoise.0': 2, 'denoise.1': 1, 'vae-decoder': 1, 'video-encoder': 0 });

    topology.workers = [...ALL_WORKERS];
    const again = await scrape(a);
    expect(again.value('spool_live_workers', { stage: 'video-encoder' })).toBe(1);
    expect(again.value('spool_live_workers', { stage: 'denoise.0' })).toBe(1);
  });

  it('leaves the workers gauge empty for a topology that keeps no picture', async () => {
    const bare = { snapshot: () => new FakeTopology().snapshot() };
    const { app: a } = app({ topology: bare });
    const m = await scrape(a);
    expect(m.types.get('spool_live_workers')).toBe('gauge');
    expect(m.find('spool_live_workers')).toEqual([]);
  });
});

describe('while draining', () => {
  it('keeps answering scrapes while new generations get 503', async () => {
    const drain = new Drain();
    const { app: a } = app({ drain });
    drain.begin();
    expect((await a.inject(post({ prompt: 'a fox' }))).statusCode).toBe(503);
    const m = await scrape(a);
    expect(m.value('spool_http_requests_total', { route: '/generate', status: '503' })).toBe(1);
  });
});

describe('SPOOL_METRICS_TOKEN', () => {
  it('needs no token when none is set', async () => {
    const { app: a } = app();
    expect((await a.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('takes only the metrics token once one is set: not none, not an API token', async () => {
    const { app: a } = app({ metricsToken: 'scrape-token-5d1e0c' });
    for (const headers of [{}, auth, { authorization: 'Bearer wrong' }]) {
      const res = await a.inject({ method: 'GET', url: '/metrics', headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.json()).toMatchObject({ code: 'SPOOL_ERR_UNAUTHORIZED' });
    }
    const ok = await scrape(a, { authorization: 'Bearer scrape-token-5d1e0c' });
    expect(ok.value('spool_http_requests_total', { route: '/metrics', status: '401' })).toBe(3);
    // The metrics token does not open the API.
    expect((await a.inject(post({ prompt: 'a fox' }, { authorization: 'Bearer scrape-token-5d1e0c' }))).statusCode).toBe(401);
  });
});

describe('the registry', () => {
  it('takes a metric from another module, read at scrape time', async () => {
    const metrics = new Metrics();
    const { app: a } = app({ metrics });
    const counts = new Map([
      ['queued', 2],
      ['completed', 5],
    ]);
    metrics.gauge({
      name: 'spool_test_jobs',
      help: 'Jobs by status',
      labelNames: ['status'],
      collect() {
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    const m = await scrape(a);
    expect(m.value('spool_test_jobs', { status: 'queued' })).toBe(2);
    counts.set('queued', 0);
    expect((await scrape(a)).value('spool_test_jobs', { status: 'queued' })).toBe(0);
  });

  it('refuses a name without the prefix and a name registered twice', () => {
    const metrics = new Metrics();
    expect(() => metrics.counter({ name: 'jobs_total', help: 'x' })).toThrow(/spool_/);
    expect(() => metrics.counter({ name: 'spool_http_requests_total', help: 'x' })).toThrow(/registered already/);
  });

  it("keeps each app's counts in its own registry, none in prom-client's global one", async () => {
    const one = app();
    const two = app();
    expect((await one.app.inject(post({ prompt: 'a fox', num_inference_steps: 1 }))).statusCode).toBe(200);
    expect((await scrape(one.app)).value('spool_generation_duration_seconds_count', { outcome: 'completed' })).toBe(1);
    expect((await scrape(two.app)).value('spool_generation_duration_seconds_count', { outcome: 'completed' })).toBeUndefined();
    expect(globalRegistry.getMetricsAsArray().filter((x) => x.name.startsWith('spool_'))).toEqual([]);
  });

  it('exports the process metrics under the prefix when asked', async () => {
    const m = parseExposition(await new Metrics({ processMetrics: true }).exposition());
    for (const name of ['spool_process_cpu_seconds_total', 'spool_process_resident_memory_bytes', 'spool_nodejs_eventloop_lag_seconds', 'spool_nodejs_heap_size_used_bytes']) {
      expect(m.value(name), name).toBeGreaterThanOrEqual(0);
    }
    expect(parseExposition(await new Metrics().exposition()).find('spool_process_cpu_seconds_total')).toEqual([]);
  });
});
