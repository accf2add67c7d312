/**
 * Admission through POST /generate: the per-token limit, the rate limit and
 * Retry-After, with the fake pipeline and a fake admission clock that the
 * denoiser moves on, so every expected time below is computed from fake run
 * times, not measured.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { auth, testApp, TOKEN, until } from './helpers.ts';

const other = { authorization: 'Bearer second-token-abcdefghijklmnop' };
const third = { authorization: 'Bearer third-token-abcdefghijklmnop' };
/** 9 frames are 3 latent frames: `steps` × 3 step-frames of work. */
const post = (headers: Record<string, string>, steps = 4, prompt = 'a fox') => ({
  method: 'POST' as const,
  url: '/generate',
  headers: { 'content-type': 'application/json', ...headers },
  payload: JSON.stringify({ prompt, num_frames: 9, num_inference_steps: steps, seed: 1 }),
});

let current: ReturnType<typeof testApp> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

/** An app on a fake admission clock; each denoiser call moves it on 1 s and, while `hold()` is on, waits for `open()`. */
function clockedApp(over: Parameters<typeof testApp>[0]) {
  const clock = { now: 0 };
  current = testApp({ ...over, clock: () => clock.now });
  const { app, pipeline } = current;
  let gate: Promise<void> | undefined;
  let open = (): void => undefined;
  pipeline.hooks.denoise = async () => {
    clock.now += 1_000;
    await gate;
  };
  const hold = (): void => {
    gate = new Promise((r) => (open = r));
  };
  const info = async () => (await app.inject({ method: 'GET', url: '/info' })).json().queue as Record<string, number>;
  const list = async (headers: Record<string, string>) => (await app.inject({ method: 'GET', url: '/requests', headers })).json() as Array<Record<string, unknown>>;
  return { app, pipeline, clock, hold, open: () => open(), info, list };
}

describe('per-token limit', () => {
  it('one token fills its share (half the places by default) and gets 429 SPOOL_ERR_TOKEN_LIMIT; another token still gets in', async () => {
    const { app, pipeline, hold, open, info } = clockedApp({ maxConcurrent: 1, maxQueue: 3 });
    hold();
    const mine = [app.inject(post(auth))];
    await until(() => pipeline.calls.denoise.length === 1);
    mine.push(app.inject(post(auth)));
    await until(async () => (await info()).waiting === 1);
    expect((await info()).max_per_token).toBe(2);

    const refused = await app.inject(post(auth));
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      error: 'Too Many Requests',
      code: 'SPOOL_ERR_TOKEN_LIMIT',
      message: 'this token has 1 requests running and 1 queued, its limit of 2 (SPOOL_MAX_PER_TOKEN); retry in 1 s, when the first of them is expected to finish',
    });
    // Nothing finished yet: by the prior (12 step-frames × 10 ms) the running one is due; at least 1 s.
    expect(refused.headers['retry-after']).toBe('1');

    const theirs = app.inject(post(other));
    await until(async () => (await info()).waiting === 2);
    open();
    const done = await Promise.all([...mine, theirs]);
    expect(done.map((r) => r.statusCode)).toEqual([200, 200, 200]);
  });
});

describe('rate limit', () => {
  it('trips after the burst, tells when the bucket refills, and recovers with the clock', async () => {
    const { app, pipeline, clock } = clockedApp({ rateLimitPerMin: 6, rateBurst: 2 });
    pipeline.hooks.denoise = undefined; // the clock moves only when the test moves it
    const send = (headers = auth) => app.inject(post(headers, 1));
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(200);

    const limited = await send();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('10');
    expect(limited.json()).toMatchObject({
      code: 'SPOOL_ERR_RATE_LIMITED',
      message: expect.stringMatching(/rate limit of 6 requests a minute with bursts of 2 \(SPOOL_RATE_LIMIT, SPOOL_RATE_BURST\); retry in 10 s/),
    });
    expect((await send(other)).statusCode).toBe(200);

    clock.now += 4_000;
    expect((await send()).headers['retry-after']).toBe('6');
    clock.now += 6_000;
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(429);
  });

  it('is off with SPOOL_RATE_LIMIT 0', async () => {
    const { app } = clockedApp({ rateLimitPerMin: 0, rateBurst: 1 });
    for (let i = 0; i < 5; i++) expect((await app.inject(post(auth, 1))).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/info' })).json().queue).toMatchObject({ rate_limit_per_minute: 0 });
  });
});

describe('Retry-After and expected waits from measured run times', () => {
  it('follow the run time of finished requests and each place in the queue', async () => {
    const apiTokens = [TOKEN, 'second-token-abcdefghijklmnop', 'third-token-abcdefghijklmnop'];
    const { app, pipeline, clock, hold, open, info, list } = clockedApp({ apiTokens, maxConcurrent: 1, maxQueue: 3, maxPerToken: 2 });
    // Two finished requests of 4 steps, one fake second each: 4 s for 12 step-frames.
    for (let i = 0; i < 2; i++) expect((await app.inject(post(auth, 4))).statusCode).toBe(200);
    expect(clock.now).toBe(8_000);

    hold();
    const x = app.inject(post(other, 4, 'x')); // runs; expected to finish 4 s after it started
    await until(() => pipeline.calls.denoise.length === 9);
    expect(clock.now).toBe(9_000); // 1 s into x: 3 s left
    const y = app.inject(post(auth, 8, 'y')); // 8 s expected, from x's end
    await until(async () => (await info()).waiting === 1);
    const z = app.inject(post(auth, 4, 'z')); // 4 s, after y
    await until(async () => (await info()).waiting === 2);

    // This token holds y and z: it may send again when y is expected to finish, 3 + 8 s from now.
    const limited = await app.inject(post(auth));
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('SPOOL_ERR_TOKEN_LIMIT');
    expect(limited.json().message).toMatch(/^this token has 0 requests running and 2 queued, its limit of 2/);
    expect(limited.headers['retry-after']).toBe('11');

    // The other token still gets the last place; then the queue is full until x is expected to finish.
    const v = app.inject(post(other, 4, 'v'));
    await until(async () => (await info()).waiting === 3);
    const full = await app.inject(post(third));
    expect(full.statusCode).toBe(429);
    expect(full.json().code).toBe('SPOOL_ERR_QUEUE_FULL');
    expect(full.headers['retry-after']).toBe('3');

    const pick = (rows: Array<Record<string, unknown>>) => rows.map((r) => [r.state, r.queue_position, r.expected_start_ms, r.expected_finish_ms]);
    expect(pick(await list(auth))).toEqual([
      ['queued', 1, 3_000, 11_000],
      ['queued', 2, 11_000, 15_000],
    ]);
    expect(pick(await list(other))).toEqual([
      ['denoising', undefined, undefined, 3_000],
      ['queued', 3, 15_000, 19_000],
    ]);
    expect(await info()).toMatchObject({ running: 1, waiting: 3, estimated_wait_s: 19 });

    open();
    const done = await Promise.all([x, y, z, v]);
    expect(done.map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    expect(pipeline.calls.prompts.slice(2).map((p) => p[1])).toEqual(['x', 'y', 'z', 'v']);
    expect(await info()).toMatchObject({ running: 0, waiting: 0, estimated_wait_s: 0 });
  });
});
