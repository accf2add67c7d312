import { wireError } from '@spool/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { auth, FAKE_MP4, FakePipeline, FakeTopology, manifest, testApp, TOKEN, worker, until } from './helpers.ts';

const post = (body: unknown, headers: Record<string, string> = auth) => ({
  method: 'POST' as const,
  url: '/generate',
  headers: { 'content-type': 'application/json', ...headers },
  payload: typeof body === 'string' ? body : JSON.stringify(body),
});

let current: ReturnType<typeof testApp> | undefined;
function app(over: Parameters<typeof testApp>[0] = {}) {
  current = testApp(over);
  return current;
}
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

describe('POST /generate auth', () => {
  it.each([
    ['missing', {}, /needs an "Authorization: Bearer <token>" header/],
    ['wrong token', { authorization: 'Bearer nope-nope-nope' }, /not valid/],
    ['wrong scheme', { authorization: `Basic ${TOKEN}` }, /Bearer scheme/],
    ['no token after the scheme', { authorization: 'Bearer' }, /Bearer scheme/],
  ])('401 when the token is %s', async (_name, headers, message) => {
    const { app: a, pipeline } = app();
    const res = await a.inject(post({ prompt: 'a fox' }, headers as Record<string, string>));
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="spool"');
    const body = res.json();
    expect(body).toEqual({ error: 'Unauthorized', code: 'SPOOL_ERR_UNAUTHORIZED', message: expect.stringMatching(message) });
    expect(pipeline.calls.prompts).toHaveLength(0);
  });

  it('checks auth before the body: a bad token with malformed JSON is a 401', async () => {
    const res = await app().app.inject(post('{not json', { authorization: 'Bearer wrong' }));
    expect(res.statusCode).toBe(401);
  });

  it('accepts every configured token and a lower-case scheme', async () => {
    const { app: a } = app();
    expect((await a.inject(post({ prompt: 'a fox' }, { authorization: 'bearer second-token-abcdefghijklmnop' }))).statusCode).toBe(200);
  });
});

describe('POST /generate validation', () => {
  const bad = async (body: unknown, headers?: Record<string, string>) => {
    const { app: a, pipeline } = app();
    const res = await a.inject(headers ? { ...post(body), headers: { ...auth, ...headers } } : post(body));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const json = res.json() as { error: string; code: string; message: string };
    expect(json.error).toBe('Bad Request');
    expect(json.code).toBe('SPOOL_ERR_VALIDATION');
    expect(Object.keys(json).sort()).toEqual(['code', 'error', 'message']);
    expect(pipeline.calls.prompts).toHaveLength(0);
    return json.message;
  };

  it('malformed JSON', async () => {
    expect(await bad('{"prompt": "a fox",')).toBe('the request body is not valid JSON');
  });

  it('empty body', async () => {
    expect(await bad('')).toMatch(/request body is empty/);
  });

  it('wrong content type', async () => {
    expect(await bad('prompt=a fox', { 'content-type': 'text/plain' })).toBe('Content-Type must be application/json (got "text/plain")');
  });

  it('a body that is not an object', async () => {
    expect(await bad([1, 2])).toMatch(/must be a JSON object with at least a "prompt" field \(got an array\)/);
    expect(await bad('"just a string"')).toMatch(/must be a JSON object/);
  });

  it('missing prompt', async () => {
    expect(await bad({ num_frames: 9 })).toBe('prompt is required: a non-empty string of at most 200 characters');
  });

  it('empty and whitespace prompts', async () => {
    expect(await bad({ prompt: '' })).toBe('prompt must not be empty or only whitespace');
    expect(await bad({ prompt: '   \n\t' })).toBe('prompt must not be empty or only whitespace');
  });

  it('a prompt that is too long', async () => {
    expect(await bad({ prompt: 'x'.repeat(201) })).toBe('prompt must be a non-empty string of at most 200 characters (got a string of 201 characters)');
  });

  it.each([
    [{ num_frames: 500 }, 'num_frames must be an integer from 8 to 100 (got 500)'],
    [{ num_frames: 7 }, 'num_frames must be an integer from 8 to 100 (got 7)'],
    [{ num_frames: 9.5 }, 'num_frames must be an integer from 8 to 100 (got 9.5)'],
    [{ num_frames: '49' }, 'num_frames must be an integer from 8 to 100 (got "49")'],
    [{ fps: 0 }, 'fps must be an integer from 1 to 60 (got 0)'],
    [{ fps: 61 }, 'fps must be an integer from 1 to 60 (got 61)'],
    [{ guidance_scale: -1 }, 'guidance_scale must be a number from 0 to 20 (got -1)'],
    [{ guidance_scale: 20.5 }, 'guidance_scale must be a number from 0 to 20 (got 20.5)'],
    [{ guidance_scale: null }, 'guidance_scale must be a number from 0 to 20 (got null)'],
    [{ guidance_rescale: 1.5 }, 'guidance_rescale must be a number from 0 to 1 (got 1.5)'],
    [{ num_inference_steps: 0 }, 'num_inference_steps must be an integer from 1 to 100 (got 0)'],
    [{ num_inference_steps: 101 }, 'num_inference_steps must be an integer from 1 to 100 (got 101)'],
    [{ seed: -1 }, 'seed must be an integer from 0 to 4294967295 (got -1)'],
    [{ seed: 2 ** 32 }, 'seed must be an integer from 0 to 4294967295 (got 4294967296)'],
    [{ negative_prompt: 5 }, 'negative_prompt must be a string of at most 200 characters (got 5)'],
  ])('out of range or wrong type: %j', async (field, message) => {
    expect(await bad({ prompt: 'a fox', ...field })).toBe(message);
  });

  it('unknown fields, named', async () => {
    expect(await bad({ prompt: 'a fox', steps: 5 })).toBe(
      'unknown field "steps" (allowed: prompt, negative_prompt, num_frames, fps, guidance_scale, guidance_rescale, num_inference_steps, seed)',
    );
    expect(await bad({ prompt: 'a fox', a: 1, b: 2 })).toMatch(/^unknown fields "a", "b" \(allowed: /);
  });

  it('reports every problem at once', async () => {
    expect(await bad({ prompt: 'a fox', fps: 0, num_frames: 1000 })).toBe(
      'num_frames must be an integer from 8 to 100 (got 1000); fps must be an integer from 1 to 60 (got 0)',
    );
  });

  it('refuses prototype pollution as invalid JSON', async () => {
    expect(await bad('{"prompt":"a fox","__proto__":{"x":1}}')).toBe('the request body is not valid JSON');
  });
});

describe('POST /generate success', () => {
  it('returns the MP4 with its headers', async () => {
    const { app: a, pipeline } = app();
    const res = await a.inject(post({ prompt: '  a fox in the snow ', num_frames: 10, fps: 12, guidance_scale: 7.5, num_inference_steps: 3, seed: 1234, negative_prompt: 'blurry' }));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    const id = res.headers['x-spool-request-id'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['content-disposition']).toBe(`inline; filename="spool-${id}.mp4"`);
    expect(res.headers['x-spool-seed']).toBe('1234');
    expect(res.headers['x-spool-frames']).toBe('10');
    expect(new Uint8Array(res.rawPayload)).toEqual(FAKE_MP4);

    expect(pipeline.calls.prompts).toEqual([['blurry', 'a fox in the snow']]);
    // 10 frames → 13 generated → 4 latent frames; batch 2 for CFG.
    expect(pipeline.calls.denoise).toHaveLength(3);
    expect(pipeline.calls.denoise[0].shape).toEqual([2, 4, 2, 2, 2]);
    expect(pipeline.calls.denoise.map((c) => c.timestep)).toEqual([[999, 999], [666, 666], [332, 332]]);
    expect(pipeline.calls.decode).toEqual([{ fps: 12, num_frames: 10, width: 64, height: 64 }]);
  });

  it('applies the manifest defaults and picks a random seed', async () => {
    const { app: a, pipeline } = app();
    const res = await a.inject(post({ prompt: 'a fox' }));
    expect(res.statusCode).toBe(200);
    const seed = Number(res.headers['x-spool-seed']);
    expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true);
    expect(pipeline.calls.prompts).toEqual([['', 'a fox']]);
    expect(pipeline.calls.denoise).toHaveLength(manifest.defaults.num_inference_steps);
    expect(pipeline.calls.decode[0]).toMatchObject({ fps: manifest.defaults.fps, num_frames: manifest.defaults.num_frames });
  });
});

describe('POST /generate stage errors', () => {
  it.each([
    ['SPOOL_ERR_STAGE_UNAVAILABLE', 503, 'Service Unavailable'],
    ['SPOOL_ERR_STAGE_TIMEOUT', 504, 'Gateway Timeout'],
    ['SPOOL_ERR_STAGE_FAILED', 502, 'Bad Gateway'],
    ['SPOOL_ERR_MODEL', 502, 'Bad Gateway'],
  ] as const)('%s → %i JSON naming the stage', async (code, status, error) => {
    const pipeline = new FakePipeline();
    pipeline.hooks.denoise = () => {
      throw wireError(code, 'denoise.1: something broke', { stage: 'denoise.1' });
    };
    const res = await app({ pipeline }).app.inject(post({ prompt: 'a fox' }));
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ error, code, message: 'denoise.1: something broke' });
  });

  it('an unexpected error is a JSON 500 without internals', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.decode = () => {
      throw new TypeError('cannot read properties of undefined (secret detail)');
    };
    const res = await app({ pipeline }).app.inject(post({ prompt: 'a fox' }));
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: 'Internal Server Error', code: 'SPOOL_ERR_INTERNAL', message: expect.not.stringContaining('secret') });
  });

  it('fails fast with 503 naming the missing shard before calling any stage', async () => {
    const topology = new FakeTopology([worker('text-encoder'), worker('denoiser', 0), worker('vae-decoder'), worker('video-encoder')]);
    const { app: a, pipeline } = app({ topology });
    const res = await a.inject(post({ prompt: 'a fox' }));
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ error: 'Service Unavailable', code: 'SPOOL_ERR_STAGE_UNAVAILABLE', message: 'cannot generate: blocks 1:2 have no live worker (denoise.1)' });
    expect(pipeline.calls.prompts).toHaveLength(0);
  });

  it('504 SPOOL_ERR_DEADLINE when the request outlives its deadline', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.denoise = () => new Promise((resolve) => setTimeout(resolve, 50));
    const res = await app({ pipeline, requestTimeoutMs: 80 }).app.inject(post({ prompt: 'a fox', num_inference_steps: 50 }));
    expect(res.statusCode).toBe(504);
    expect(res.json()).toMatchObject({ code: 'SPOOL_ERR_DEADLINE', message: expect.stringContaining('80 ms') });
    expect(pipeline.calls.denoise.length).toBeLessThan(5);
    expect(pipeline.calls.decode).toHaveLength(0);
  });
});

describe('POST /generate admission', () => {
  it('429 with Retry-After when the queue is full, and the queued request still runs', async () => {
    const pipeline = new FakePipeline();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    pipeline.hooks.encode = () => gate;
    // One token may take every place here, so the queue is what refuses.
    const { app: a } = app({ pipeline, maxConcurrent: 1, maxQueue: 1, maxPerToken: 2 });
    const running = a.inject(post({ prompt: 'first' }));
    await until(() => pipeline.calls.prompts.length === 1);
    const queued = a.inject(post({ prompt: 'second' }));
    await new Promise((r) => setTimeout(r, 20));
    const refused = await a.inject(post({ prompt: 'third' }));
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json()).toEqual({ error: 'Too Many Requests', code: 'SPOOL_ERR_QUEUE_FULL', message: expect.stringMatching(/1 requests are running and 1 are waiting/) });
    release();
    expect((await running).statusCode).toBe(200);
    expect((await queued).statusCode).toBe(200);
    expect(pipeline.calls.prompts.map((p) => p[1])).toEqual(['first', 'second']);
  });
});

