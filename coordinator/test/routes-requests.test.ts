import { afterEach, describe, expect, it } from 'vitest';
import { auth, RowwisePipeline, testApp, until } from './helpers.ts';

const post = (body: unknown) => ({
  method: 'POST' as const,
  url: '/generate',
  headers: { 'content-type': 'application/json', ...auth },
  payload: JSON.stringify(body),
});

let current: ReturnType<typeof testApp> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

/** Resolves once `check` holds, polling the event loop. */

/** One request at a time, four may wait; the denoiser's call number `held` waits until `open()`. */
function gatedApp(held: number) {
  current = testApp({ maxConcurrent: 1, maxQueue: 4 });
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  current.pipeline.hooks.denoise = (n) => (n === held ? gate : undefined);
  return { app: current.app, open };
}

describe('GET /requests', () => {
  it('needs a bearer token', async () => {
    current = testApp();
    const res = await current.app.inject({ method: 'GET', url: '/requests' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('SPOOL_ERR_UNAUTHORIZED');
  });

  it('is empty when nothing runs', async () => {
    current = testApp();
    const res = await current.app.inject({ method: 'GET', url: '/requests', headers: auth });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual([]);
  });

  it('lists running and queued requests with their progress, no prompts; /info counts them', async () => {
    const { app, open } = gatedApp(3);
    const first = app.inject(post({ prompt: 'a secret prompt', num_frames: 9, num_inference_steps: 5, seed: 1 }));
    const list = async () => (await app.inject({ method: 'GET', url: '/requests', headers: auth })).json() as Array<Record<string, unknown>>;
    await until(async () => (await list())[0]?.step === 2);
    const second = app.inject(post({ prompt: 'another one', num_frames: 49, num_inference_steps: 3, seed: 2 }));
    await until(async () => (await list()).length === 2);

    const res = await app.inject({ method: 'GET', url: '/requests', headers: auth });
    expect(res.body).not.toContain('secret');
    const [a, b] = res.json();
    expect(a).toMatchObject({ state: 'denoising', step: 2, steps: 5, num_frames: 9 });
    expect(a).not.toHaveProperty('queue_position');
    expect(b).toMatchObject({ state: 'queued', step: 0, steps: 3, num_frames: 49, queue_position: 1 });
    for (const r of [a, b]) {
      expect(r.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.elapsed_ms).toBeGreaterThanOrEqual(0);
    }

    const info = (await app.inject({ method: 'GET', url: '/info' })).json();
    expect(info.queue).toMatchObject({ running: 1, waiting: 1, max_concurrent: 1, max_queue: 4, max_per_token: 3 });
    expect(info.queue.estimated_wait_s).toBeGreaterThan(0);

    open();
    const [ra, rb] = await Promise.all([first, second]);
    expect([ra.statusCode, rb.statusCode]).toEqual([200, 200]);
    expect(ra.headers['x-spool-request-id']).toBe(a.id);
    expect(await list()).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/info' })).json().queue).toMatchObject({ running: 0, waiting: 0 });
  });

  it("shows each token only its own requests, with places in the one shared queue", async () => {
    const { app, open } = gatedApp(2);
    const other = { authorization: 'Bearer second-token-abcdefghijklmnop' };
    const send = (headers: Record<string, string>, seed: number) =>
      app.inject({ ...post({ prompt: `prompt ${seed}`, num_frames: 9, num_inference_steps: 3, seed }), headers: { 'content-type': 'application/json', ...headers } });
    const list = async (headers: Record<string, string>) =>
      (await app.inject({ method: 'GET', url: '/requests', headers })).json() as Array<Record<string, unknown>>;
    const running = send(auth, 1);
    await until(async () => (await list(auth))[0]?.state === 'denoising');
    const theirs = send(other, 2);
    await until(async () => (await list(other)).length === 1);
    const mine = send(auth, 3);
    await until(async () => (await list(auth)).length === 2);

    const own = await list(auth);
    expect(own.map((r) => [r.state, r.queue_position])).toEqual([['denoising', undefined], ['queued', 2]]);
    const seen = await list(other);
    expect(seen.map((r) => [r.state, r.queue_position])).toEqual([['queued', 1]]);
    expect(seen[0].id).not.toBe(own[0].id);
    expect(seen[0].id).not.toBe(own[1].id);

    open();
    const done = await Promise.all([running, theirs, mine]);
    expect(done.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(await list(auth)).toEqual([]);
    expect(await list(other)).toEqual([]);
  });
});

describe('step batching through POST /generate', () => {
  it('merges the denoiser calls of concurrent requests of one shape', async () => {
    const pipeline = new RowwisePipeline();
    pipeline.hooks.denoise = () => new Promise((r) => setTimeout(r, 5));
    current = testApp({ pipeline, maxConcurrent: 4, batchWindowMs: 50, maxCallsInFlight: 1 });
    const bodies = [1, 2, 3].map((seed) => ({ prompt: `prompt ${seed}`, num_frames: 9, num_inference_steps: 4, seed }));
    const together = await Promise.all(bodies.map((b) => current!.app.inject(post(b))));
    expect(together.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    // The first request's first step may go before the others arrive; after that they step together.
    const rows = pipeline.calls.denoise.map((c) => c.shape[0]);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(3 * 4 * 2);
    expect(rows.length).toBeLessThan(3 * 4);
    expect(rows).toContain(6);
  });
});
