/**
 * The jobs API (/v1/videos) through inject(), with the fake pipeline and a
 * real job store on a nats-server with JetStream and the closed bus: every
 * route's answer and errors, OpenAI's fields mapped onto the model (or a 400
 * saying what it takes), refusals that store nothing, one token's jobs out
 * of another's reach, and pages of the list.
 */
import type { VideoObject } from '@spool/coordinator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MP4, manifest } from '../../coordinator/test/helpers.ts';
import { create, gate, pollUntil, startVideosBus, type VideosBus } from './helpers/videos.ts';

const SIZE = `${manifest.video.output_width}x${manifest.video.output_height}`;
const body = (over: Record<string, unknown> = {}) => ({ prompt: 'a red fox in the snow', num_inference_steps: 4, seed: 11, ...over });

describe('the jobs API', () => {
  let vb: VideosBus;

  beforeAll(async () => {
    vb = await startVideosBus();
  });
  afterAll(async () => {
    await vb?.stop();
  });

  it('makes a job, answers at once with the video object, and serves the MP4 once it completed', async () => {
    const { app, pipeline } = vb.bench();
    const { a } = vb.tokens();
    const held = gate();
    pipeline.hooks.encode = () => held.wait;
    const before = Math.floor(Date.now() / 1000);
    const res = await create(app, a, body({ negative_prompt: 'blurry', num_frames: 17, fps: 8, guidance_scale: 4.5 }));
    expect(res.statusCode).toBe(200);
    const made = res.json() as VideoObject;
    expect(made).toEqual({
      id: expect.stringMatching(/^video_[0-9a-f]{28}$/),
      object: 'video',
      model: manifest.name,
      status: 'queued',
      progress: 0,
      created_at: expect.any(Number),
      completed_at: null,
      expires_at: null,
      seconds: '2.125',
      size: SIZE,
      prompt: 'a red fox in the snow',
      error: null,
      remixed_from_video_id: null,
      negative_prompt: 'blurry',
      num_frames: 17,
      fps: 8,
      num_inference_steps: 4,
      guidance_scale: 4.5,
      guidance_rescale: manifest.defaults.guidance_rescale,
      seed: 11,
      attempts: 1,
    });
    expect(made.created_at).toBeGreaterThanOrEqual(before);

    // Running: in progress, encoding.
    const running = await pollUntil(app, a, made.id, (v) => v.status === 'in_progress');
    expect(running.progress).toBe(1);
    const early = await app.inject({ method: 'GET', url: `/v1/videos/${made.id}/content`, headers: a });
    expect(early.statusCode).toBe(404);
    expect(early.json()).toMatchObject({ code: 'SPOOL_ERR_VIDEO_NOT_READY', message: expect.stringMatching(/in progress \(1%\).*once its status is completed/) });

    held.open();
    const done = await pollUntil(app, a, made.id, (v) => v.status === 'completed');
    expect(done).toMatchObject({ progress: 100, error: null, attempts: 1 });
    expect(done.completed_at).toBeGreaterThanOrEqual(done.created_at);
    // Kept SPOOL_JOBS_MAX_AGE_H (24 h by default) after it completed, less the margin at which a video counts as gone.
    expect(done.expires_at! - done.completed_at!).toBeGreaterThan(24 * 3600 - 120);
    expect(done.expires_at! - done.completed_at!).toBeLessThanOrEqual(24 * 3600);
    // The generation got the body as the job recorded it.
    expect(pipeline.calls.prompts).toEqual([['blurry', 'a red fox in the snow']]);
    expect(pipeline.calls.decode[0]).toMatchObject({ num_frames: 17, fps: 8 });

    const video = await app.inject({ method: 'GET', url: `/v1/videos/${made.id}/content`, headers: a });
    expect(video.statusCode).toBe(200);
    expect(video.headers['content-type']).toBe('video/mp4');
    expect(video.headers['content-length']).toBe(String(FAKE_MP4.byteLength));
    expect(video.headers['content-disposition']).toBe(`inline; filename="${made.id}.mp4"`);
    expect(video.headers.etag).toMatch(/^"SHA-256=.+"$/);
    expect(new Uint8Array(video.rawPayload)).toEqual(FAKE_MP4);
    const explicit = await app.inject({ method: 'GET', url: `/v1/videos/${made.id}/content?variant=video`, headers: a });
    expect(new Uint8Array(explicit.rawPayload)).toEqual(FAKE_MP4);
    const thumbnail = await app.inject({ method: 'GET', url: `/v1/videos/${made.id}/content?variant=thumbnail`, headers: a });
    expect(thumbnail.statusCode).toBe(400);
    expect(thumbnail.json()).toMatchObject({ code: 'SPOOL_ERR_VALIDATION', message: expect.stringMatching(/variant "thumbnail" is not served/) });
    const bad = await app.inject({ method: 'GET', url: `/v1/videos/${made.id}/content?variant=gif`, headers: a });
    expect(bad.json()).toMatchObject({ code: 'SPOOL_ERR_VALIDATION', message: 'query parameter variant must be one of video, thumbnail, spritesheet (got "gif")' });
  });

  it("maps OpenAI's model, seconds and size onto the model, and says what it takes where they cannot map", async () => {
    const { app } = vb.bench();
    const { a } = vb.tokens();
    const ok = await create(app, a, body({ model: manifest.name, seconds: '2', fps: 8, size: SIZE }));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ num_frames: 16, fps: 8, seconds: '2', size: SIZE, model: manifest.name });
    // A number of seconds, at the default fps.
    const number = await create(app, a, body({ seconds: 1.5 }));
    expect(number.json()).toMatchObject({ num_frames: Math.round(1.5 * manifest.defaults.fps), fps: manifest.defaults.fps });

    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ model: 'sora-2' }, new RegExp(`model must be "${manifest.name}", the model this server runs \\(got "sora-2"\\)`)],
      [{ size: '1280x720' }, new RegExp(`size must be "${SIZE}": ${manifest.name} makes videos of that size only \\(got "1280x720"\\)`)],
      [{ seconds: '4', num_frames: 32 }, /give seconds or num_frames, not both/],
      [{ seconds: '30', fps: 8 }, /seconds "30" at 8 fps is 240 frames, and cogvideox-test makes 8 to 100: at 8 fps, seconds must be from 1 to 12.5/],
      [{ seconds: 'four' }, /seconds must be a number of seconds/],
      [{ voice: 'x' }, /unknown field "voice" \(allowed: prompt, negative_prompt, num_frames, fps, guidance_scale, guidance_rescale, num_inference_steps, seed, model, seconds, size\)/],
      [{ num_frames: 500 }, /num_frames must be an integer from 8 to 100 \(got 500\)/],
    ];
    for (const [over, message] of refused) {
      const res = await create(app, a, body(over));
      expect(res.statusCode, JSON.stringify(over)).toBe(400);
      // OpenAI's error object, which OpenAI's clients read, and spool's code and message.
      const { error, code, message: text } = res.json() as { error: { message: string; type: string; code: string; param: null }; code: string; message: string };
      expect(error, JSON.stringify(over)).toEqual({ message: text, type: 'invalid_request_error', code: 'SPOOL_ERR_VALIDATION', param: null });
      expect(code).toBe('SPOOL_ERR_VALIDATION');
      expect(text).toMatch(message);
    }
    // Only the two accepted jobs were stored.
    const list = await app.inject({ method: 'GET', url: '/v1/videos', headers: a });
    expect(list.json().data.map((v: VideoObject) => v.id)).toEqual([number.json().id, ok.json().id]);
    const noToken = await app.inject({ method: 'POST', url: '/v1/videos', payload: body() });
    expect(noToken.statusCode).toBe(401);
    expect(noToken.json()).toMatchObject({ error: { type: 'authentication_error', code: 'SPOOL_ERR_UNAUTHORIZED' }, code: 'SPOOL_ERR_UNAUTHORIZED' });
    expect(noToken.headers['www-authenticate']).toBe('Bearer realm="spool"');
  });

  it("takes the form OpenAI's SDKs and curl -F send (multipart) and curl -d's (urlencoded), numbers written as text read as numbers", async () => {
    const { app, pipeline } = vb.bench();
    const { a } = vb.tokens();
    const boundary = 'a3f1b2c4d5e6';
    const multipart = (fields: Array<[string, string, string?]>): string =>
      fields
        .map(([name, value, filename]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename ? `; filename="${filename}"\r\nContent-Type: image/png` : ''}\r\n\r\n${value}\r\n`)
        .join('') + `--${boundary}--\r\n`;
    const form = (payload: string, type = `multipart/form-data; boundary=${boundary}`) => app.inject({ method: 'POST', url: '/v1/videos', headers: { ...a, 'content-type': type }, payload });

    const sdk = await form(multipart([['prompt', 'a blue square going up'], ['model', manifest.name], ['seconds', '2'], ['size', SIZE], ['fps', '8'], ['num_inference_steps', '3']]));
    expect(sdk.statusCode).toBe(200);
    expect(sdk.json()).toMatchObject({ status: 'queued', prompt: 'a blue square going up', num_frames: 16, fps: 8, num_inference_steps: 3, seconds: '2' });
    const urlencoded = await form('prompt=snow+falling+at+night&seed=5&guidance_scale=4.5', 'application/x-www-form-urlencoded');
    expect(urlencoded.json()).toMatchObject({ prompt: 'snow falling at night', seed: 5, guidance_scale: 4.5 });
    await pollUntil(app, a, urlencoded.json().id, (v) => v.status === 'completed');
    expect(pipeline.calls.prompts.map((p) => p[1])).toContain('snow falling at night');

    const refused: Array<[string, string | undefined, RegExp]> = [
      [multipart([['prompt', 'x'], ['input_reference', 'PNG…', 'start.png']]), undefined, /input_reference \(an image to start from\) is not supported/],
      [multipart([['prompt', 'x'], ['num_frames', 'many']]), undefined, /num_frames must be an integer from 8 to 100 \(got "many"\)/],
      [multipart([['prompt', 'x'], ['prompt', 'y']]), undefined, /gives the field "prompt" more than once/],
      [multipart([['prompt', 'x']]).slice(0, -10), undefined, /closing boundary is missing/],
      ['prompt=x', 'multipart/form-data', /needs a boundary/],
    ];
    for (const [payload, type, message] of refused) {
      const res = await form(payload, type);
      expect(res.statusCode, String(message)).toBe(400);
      expect(res.json()).toMatchObject({ code: 'SPOOL_ERR_VALIDATION', message: expect.stringMatching(message) });
    }
    // POST /generate takes JSON only, as before.
    const generate = await app.inject({ method: 'POST', url: '/generate', headers: { ...a, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'prompt=x' });
    expect(generate.statusCode).toBe(400);
    expect(generate.json().message).toBe('Content-Type must be application/json (got "application/x-www-form-urlencoded")');
  });

  it('answers refusals as POST /generate does (429 with Retry-After, 503 for a missing stage or a drain) and stores nothing for them', async () => {
    const { app, pipeline, topology, drain } = vb.bench({ limits: { maxConcurrent: 1, maxQueue: 0 } });
    const { a } = vb.tokens();
    const held = gate();
    pipeline.hooks.denoise = () => held.wait;
    const first = await create(app, a, body());
    expect(first.statusCode).toBe(200);
    const full = await create(app, a, body());
    expect(full.statusCode).toBe(429);
    expect(full.json()).toMatchObject({ code: 'SPOOL_ERR_QUEUE_FULL', error: { type: 'rate_limit_error', code: 'SPOOL_ERR_QUEUE_FULL' } });
    expect(Number(full.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    held.open();
    await pollUntil(app, a, first.json().id, (v) => v.status === 'completed');

    topology.workers = topology.workers.filter((w) => w.role !== 'vae-decoder');
    const missing = await create(app, a, body());
    expect(missing.statusCode).toBe(503);
    expect(missing.json()).toMatchObject({ code: 'SPOOL_ERR_STAGE_UNAVAILABLE', message: expect.stringMatching(/vae-decoder/) });

    drain.begin();
    const draining = await create(app, a, body());
    expect(draining.statusCode).toBe(503);
    expect(draining.headers['retry-after']).toBe('7');
    expect(draining.json().code).toBe('SPOOL_ERR_SHUTTING_DOWN');
    // Reading goes on while draining.
    const list = await app.inject({ method: 'GET', url: '/v1/videos', headers: a });
    expect(list.statusCode).toBe(200);
    expect(list.json().data.map((v: VideoObject) => v.id)).toEqual([first.json().id]);
  });

  it("keeps each token's jobs from every other token: 404 as for an unknown id, and an empty list", async () => {
    const { app } = vb.bench();
    const { a, b } = vb.tokens();
    const made = (await create(app, a, body())).json() as VideoObject;
    await pollUntil(app, a, made.id, (v) => v.status === 'completed');
    const unknown = 'video_0000000000000000000000000000';
    for (const [method, path] of [
      ['GET', ''],
      ['GET', '/content'],
      ['GET', '/events'],
      ['DELETE', ''],
    ] as const) {
      const other = await app.inject({ method, url: `/v1/videos/${made.id}${path}`, headers: b });
      const none = await app.inject({ method, url: `/v1/videos/${unknown}${path}`, headers: b });
      expect(other.statusCode, `${method} ${path}`).toBe(404);
      expect(other.json().code).toBe('SPOOL_ERR_JOB_NOT_FOUND');
      // The same answer as for an id nobody has, but for the id it repeats.
      expect(other.json().message.replace(made.id, 'ID')).toBe(none.json().message.replace(unknown, 'ID'));
    }
    const malformed = await app.inject({ method: 'GET', url: '/v1/videos/..%2F..%2Fetc', headers: b });
    expect(malformed.json().code).toBe('SPOOL_ERR_JOB_NOT_FOUND');
    const list = await app.inject({ method: 'GET', url: '/v1/videos', headers: b });
    expect(list.json()).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
    // Still there for its own token, video and all.
    expect((await app.inject({ method: 'GET', url: `/v1/videos/${made.id}`, headers: a })).json().status).toBe('completed');
    expect((await app.inject({ method: 'GET', url: `/v1/videos/${made.id}/content`, headers: a })).statusCode).toBe(200);
  });

  it('lists the jobs newest first in pages (limit, after), oldest first with order=asc, in OpenAI\'s list shape', async () => {
    const { app } = vb.bench();
    const { a } = vb.tokens();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await create(app, a, body({ seed: i }))).json().id);
      // Ids carry their creation time in ms: one per millisecond keeps their order the order of creation.
      await new Promise((r) => setTimeout(r, 2));
    }
    const newest = [...ids].reverse();
    const page = async (query: string) => {
      const res = await app.inject({ method: 'GET', url: `/v1/videos${query}`, headers: a });
      expect(res.statusCode, query).toBe(200);
      return res.json() as { object: string; data: VideoObject[]; first_id: string | null; last_id: string | null; has_more: boolean };
    };
    const p1 = await page('?limit=2');
    expect(p1).toMatchObject({ object: 'list', first_id: newest[0], last_id: newest[1], has_more: true });
    expect(p1.data.map((v) => v.id)).toEqual(newest.slice(0, 2));
    const p2 = await page(`?limit=2&after=${p1.last_id}`);
    expect(p2.data.map((v) => v.id)).toEqual(newest.slice(2, 4));
    expect(p2.has_more).toBe(true);
    const p3 = await page(`?limit=2&after=${p2.last_id}`);
    expect(p3.data.map((v) => v.id)).toEqual(newest.slice(4));
    expect(p3.has_more).toBe(false);
    expect((await page('')).data.map((v) => v.id)).toEqual(newest);
    const asc = await page('?order=asc&limit=3');
    expect(asc.data.map((v) => v.id)).toEqual(ids.slice(0, 3));
    expect((await page(`?order=asc&after=${asc.last_id}`)).data.map((v) => v.id)).toEqual(ids.slice(3));
    expect(p1.data[0]).toMatchObject({ object: 'video', seed: 4 });

    for (const [query, message] of [
      ['?limit=0', 'query parameter limit must be at least 1 (got 0)'],
      ['?limit=101', 'query parameter limit must be at most 100 (got 101)'],
      ['?limit=ten', 'query parameter limit must be a whole number (got "ten")'],
      ['?order=newest', 'query parameter order must be one of desc, asc (got "newest")'],
      ['?after=video_12', 'after must be the id of a job from the previous page (video_ and 28 hex digits)'],
    ]) {
      const res = await app.inject({ method: 'GET', url: `/v1/videos${query}`, headers: a });
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ code: 'SPOOL_ERR_VALIDATION', message });
    }
  });

  it('deletes a finished job with its video, in OpenAI\'s shape, and then knows it no more', async () => {
    const { app } = vb.bench();
    const { a } = vb.tokens();
    const id = (await create(app, a, body())).json().id as string;
    await pollUntil(app, a, id, (v) => v.status === 'completed');
    const del = await app.inject({ method: 'DELETE', url: `/v1/videos/${id}`, headers: a });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toEqual({ id, object: 'video.deleted', deleted: true, cancelled: false });
    expect(await vb.store.videoInfo('token-' + tokenIndex(a), id)).toBeNull();
    for (const path of ['', '/content', '/events']) {
      expect((await app.inject({ method: 'GET', url: `/v1/videos/${id}${path}`, headers: a })).json().code).toBe('SPOOL_ERR_JOB_NOT_FOUND');
    }
    expect((await app.inject({ method: 'DELETE', url: `/v1/videos/${id}`, headers: a })).statusCode).toBe(404);
  });

  it('answers 503 SPOOL_ERR_STORAGE_UNAVAILABLE, saying why, while it has no job store, and POST /generate still works', async () => {
    const { app, jobs } = vb.bench({ store: null });
    jobs.storeUnavailable('the job store cannot be opened: JetStream is not enabled on the NATS server');
    const { a } = vb.tokens();
    for (const [method, url] of [
      ['POST', '/v1/videos'],
      ['GET', '/v1/videos'],
      ['GET', '/v1/videos/video_0000000000000000000000000000'],
      ['DELETE', '/v1/videos/video_0000000000000000000000000000'],
    ] as const) {
      const res = await app.inject({ method, url, headers: a, ...(method === 'POST' ? { payload: body() } : {}) });
      expect(res.statusCode, url).toBe(503);
      expect(res.json(), url).toMatchObject({ code: 'SPOOL_ERR_STORAGE_UNAVAILABLE', message: 'jobs are not available: the job store cannot be opened: JetStream is not enabled on the NATS server' });
    }
    const generate = await app.inject({ method: 'POST', url: '/generate', headers: { 'content-type': 'application/json', ...a }, payload: JSON.stringify(body()) });
    expect(generate.statusCode).toBe(200);
    expect(new Uint8Array(generate.rawPayload)).toEqual(FAKE_MP4);
  });
});

/** The index of the configured token an Authorization header carries (its caller is `token-<index>`). */
function tokenIndex(headers: Record<string, string>): number {
  return Number(/token-(\d+)-/.exec(headers.authorization)![1]);
}
