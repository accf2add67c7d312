/**
 * A coordinator that drains: new work is refused with 503 and Retry-After
 * while it keeps listening, /health turns 503, and the requests it had
 * admitted (one running, one queued) still finish with their video.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { InFlight } from '../src/lifecycle/in-flight.ts';
import { Drain } from '../src/lifecycle/drain.ts';
import { auth, FAKE_MP4, testApp, until } from './helpers.ts';

const post = (prompt: string) => ({
  method: 'POST' as const,
  url: '/generate',
  headers: { 'content-type': 'application/json', ...auth },
  payload: JSON.stringify({ prompt, num_frames: 9, num_inference_steps: 3, seed: 1 }),
});

let current: ReturnType<typeof testApp> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

describe('draining', () => {
  it('refuses new work with 503 and Retry-After, and finishes the running and the queued request', async () => {
    const drain = new Drain(7);
    const inFlight = new InFlight();
    current = testApp({ drain, inFlight, maxConcurrent: 1, maxQueue: 4 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    current.pipeline.hooks.denoise = (n) => (n === 2 ? gate : undefined);
    const { app } = current;

    const running = app.inject(post('first'));
    await until(() => current!.pipeline.calls.denoise.length === 2);
    const queued = app.inject(post('second'));
    await until(() => inFlight.size === 2);

    expect(drain.begin()).toBe(true);
    expect(drain.begin()).toBe(false);
    const refused = await app.inject(post('third'));
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('7');
    expect(refused.json()).toMatchObject({ code: 'SPOOL_ERR_SHUTTING_DOWN' });
    expect(refused.json().message).toMatch(/finishing the 2 request\(s\) it had admitted/);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json().message).toMatch(/shutting down/);

    open();
    for (const res of await Promise.all([running, queued])) {
      expect(res.statusCode).toBe(200);
      expect(new Uint8Array(res.rawPayload)).toEqual(FAKE_MP4);
    }
    expect(await inFlight.waitIdle(1_000)).toBe(true);
    // Status routes still answer while draining.
    expect((await app.inject({ method: 'GET', url: '/info' })).statusCode).toBe(200);
  });
});
