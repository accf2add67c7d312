/**
 * A job's life through the jobs API, on the fake pipeline and a real job
 * store (nats-server with JetStream, the closed bus): cancel while queued and
 * while running (it stops within one step: the denoiser calls are counted),
 * the events of a job in order to its last one, a watcher that comes late,
 * one that goes away, heartbeats, progress written without flooding the
 * store, the drain waiting for the video write, a shutdown leaving the job to
 * run again, jobs run again by a new coordinator (and failed once out of
 * attempts), and the spool_jobs gauge.
 */
import { connect as connectTcp } from 'node:net';
import { newJobId, type JobRecord, type JobStore, type VideoObject } from '@spool/coordinator';
import { coordinatorError } from '../../coordinator/src/errors.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_MP4, manifest } from '../../coordinator/test/helpers.ts';
import { parseExposition } from '../../coordinator/test/prom-text.ts';
import { untilHolds } from './helpers/until.ts';
import { create, gate, parseEvents, pollUntil, startVideosBus, type VideosBus } from './helpers/videos.ts';

const body = (over: Record<string, unknown> = {}) => ({ prompt: 'snow falling at night', num_inference_steps: 4, seed: 3, ...over });
const callerOf = (headers: Record<string, string>): string => `token-${Number(/token-(\d+)-/.exec(headers.authorization)![1])}`;

/** A store whose calls can be counted and held: a Proxy keeps the real store as `this` for its private fields. */
function wrapStore(store: JobStore, hooks: { putVideo?: () => Promise<void>; onUpdate?: () => void }): JobStore {
  return new Proxy(store, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'putVideo' && hooks.putVideo) {
        return async (...args: unknown[]) => {
          await hooks.putVideo!();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (prop === 'updateJob' && hooks.onUpdate) {
        return (...args: unknown[]) => {
          hooks.onUpdate!();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

describe('a job from start to end', () => {
  let vb: VideosBus;

  beforeAll(async () => {
    vb = await startVideosBus();
  });
  afterAll(async () => {
    await vb?.stop();
  });

  it('cancels a queued job (it never runs) and keeps it as failed with SPOOL_ERR_CANCELLED until deleted again', async () => {
    const { app, pipeline } = vb.bench({ limits: { maxConcurrent: 1, maxQueue: 4 } });
    const { a } = vb.tokens();
    const held = gate();
    pipeline.hooks.denoise = () => held.wait;
    const running = (await create(app, a, body({ prompt: 'first' }))).json() as VideoObject;
    const queued = (await create(app, a, body({ prompt: 'second' }))).json() as VideoObject;
    await untilHolds('the first job is denoising', () => pipeline.calls.denoise.length === 1);
    expect((await app.inject({ method: 'GET', url: `/v1/videos/${queued.id}`, headers: a })).json()).toMatchObject({ status: 'queued', progress: 0 });

    const del = await app.inject({ method: 'DELETE', url: `/v1/videos/${queued.id}`, headers: a });
    expect(del.json()).toEqual({ id: queued.id, object: 'video.deleted', deleted: false, cancelled: true });
    const cancelled = (await app.inject({ method: 'GET', url: `/v1/videos/${queued.id}`, headers: a })).json() as VideoObject;
    expect(cancelled).toMatchObject({ status: 'failed', progress: 0, error: { code: 'SPOOL_ERR_CANCELLED', message: `job ${queued.id} was cancelled (DELETE /v1/videos/${queued.id})` } });
    expect(cancelled.completed_at).not.toBeNull();
    const content = await app.inject({ method: 'GET', url: `/v1/videos/${queued.id}/content`, headers: a });
    expect(content.json()).toMatchObject({ code: 'SPOOL_ERR_VIDEO_NOT_READY', message: expect.stringMatching(/it failed \(SPOOL_ERR_CANCELLED/) });

    held.open();
    await pollUntil(app, a, running.id, (v) => v.status === 'completed');
    // Only the first job's prompt was ever encoded.
    expect(pipeline.calls.prompts.map((p) => p[1])).toEqual(['first']);
    const again = await app.inject({ method: 'DELETE', url: `/v1/videos/${queued.id}`, headers: a });
    expect(again.json()).toEqual({ id: queued.id, object: 'video.deleted', deleted: true, cancelled: false });
    expect((await app.inject({ method: 'GET', url: `/v1/videos/${queued.id}`, headers: a })).statusCode).toBe(404);
  });

  it('cancels a running job within one step: no denoiser call after the one in flight, and the record says so once DELETE answers', async () => {
    const { app, pipeline, inFlight } = vb.bench();
    const { a } = vb.tokens();
    const held = gate();
    pipeline.hooks.denoise = (n) => (n === 3 ? held.wait : undefined);
    const job = (await create(app, a, body({ num_inference_steps: 20 }))).json() as VideoObject;
    await untilHolds('the third step is in flight', () => pipeline.calls.denoise.length === 3);

    const del = await app.inject({ method: 'DELETE', url: `/v1/videos/${job.id}`, headers: a });
    expect(del.json()).toEqual({ id: job.id, object: 'video.deleted', deleted: false, cancelled: true });
    // Answered once the cancel is stored: the job holds nothing any more.
    expect(inFlight.size).toBe(0);
    const stored = await vb.store.getJob(callerOf(a), job.id);
    expect(stored).toMatchObject({ status: 'failed', error: { code: 'SPOOL_ERR_CANCELLED' } });
    expect(stored!.progress).toBeLessThanOrEqual(1 + Math.floor((89 * 2) / 20));
    held.open();
    await new Promise((r) => setTimeout(r, 50));
    expect(pipeline.calls.denoise.length).toBe(3);
    expect(pipeline.calls.decode).toEqual([]);
    expect(await vb.store.videoInfo(callerOf(a), job.id)).toBeNull();
  });

  it('streams the events in order: the state at once, each phase and step with its progress, then completed with the content URL; then it closes', async () => {
    const { app, pipeline, jobs } = vb.bench();
    const { a } = vb.tokens();
    const held = gate();
    pipeline.hooks.encode = () => held.wait;
    const job = (await create(app, a, body({ num_inference_steps: 4 }))).json() as VideoObject;
    await pollUntil(app, a, job.id, (v) => v.status === 'in_progress');
    const stream = app.inject({ method: 'GET', url: `/v1/videos/${job.id}/events`, headers: a });
    await untilHolds('the watcher is listening', () => jobs.watching === 1);
    held.open();
    const res = await stream;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache, no-transform');
    const { events } = parseEvents(res.payload);
    const seen = events.map((e) => `${e.event}:${String(e.data.phase)}:${String(e.data.step)}/${String(e.data.steps)}:${String(e.data.status)}:${String(e.data.progress)}`);
    expect(seen).toEqual([
      'phase:encoding:0/4:in_progress:1',
      'phase:denoising:0/4:in_progress:1',
      'step:denoising:1/4:in_progress:23',
      'step:denoising:2/4:in_progress:45',
      'step:denoising:3/4:in_progress:67',
      'step:denoising:4/4:in_progress:90',
      'phase:decoding:4/4:in_progress:90',
      'completed:completed:4/4:completed:100',
    ]);
    const last = events.at(-1)!.data;
    expect(last).toMatchObject({ id: job.id, object: 'video', content_url: `/v1/videos/${job.id}/content`, error: null });
    // Told completed once the video can be downloaded.
    const video = await app.inject({ method: 'GET', url: String(last.content_url), headers: a });
    expect(new Uint8Array(video.rawPayload)).toEqual(FAKE_MP4);
    expect(jobs.watching).toBe(0);
  });

  it('gives a late watcher one event, the last, and closes; a failed job ends with failed and its error', async () => {
    const { app, pipeline } = vb.bench();
    const { a } = vb.tokens();
    const done = (await create(app, a, body())).json() as VideoObject;
    await pollUntil(app, a, done.id, (v) => v.status === 'completed');
    const late = parseEvents((await app.inject({ method: 'GET', url: `/v1/videos/${done.id}/events`, headers: a })).payload).events;
    expect(late.map((e) => e.event)).toEqual(['completed']);
    expect(late[0].data).toMatchObject({ status: 'completed', progress: 100, phase: 'completed', content_url: `/v1/videos/${done.id}/content` });

    pipeline.hooks.decode = () => {
      throw coordinatorError('SPOOL_ERR_DEADLINE', 'the request did not finish within 1000 ms (SPOOL_REQUEST_TIMEOUT_MS)');
    };
    const failed = (await create(app, a, body())).json() as VideoObject;
    const end = await pollUntil(app, a, failed.id, (v) => v.status === 'failed');
    expect(end).toMatchObject({ progress: 90, error: { code: 'SPOOL_ERR_DEADLINE', message: expect.stringMatching(/did not finish/) } });
    const events = parseEvents((await app.inject({ method: 'GET', url: `/v1/videos/${failed.id}/events`, headers: a })).payload).events;
    expect(events.map((e) => e.event)).toEqual(['failed']);
    expect(events[0].data).toMatchObject({ status: 'failed', phase: 'failed', error: { code: 'SPOOL_ERR_DEADLINE' } });
    expect(events[0].data.content_url).toBeUndefined();
  });

  it('frees the listener of a client that goes away, and sends heartbeats while nothing happens', async () => {
    const { app, pipeline, jobs } = vb.bench({ heartbeatMs: 30 });
    const { a } = vb.tokens();
    const held = gate();
    pipeline.hooks.encode = () => held.wait;
    const job = (await create(app, a, body())).json() as VideoObject;
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = new URL(address);
    // A raw connection, read until two heartbeats came, then cut.
    const socket = connectTcp(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    socket.write(`GET /v1/videos/${job.id}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${a.authorization}\r\n\r\n`);
    await untilHolds('two heartbeats came', () => received.split(': keep-alive').length > 2);
    expect(received).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(received).toMatch(/event: phase\n/);
    expect(jobs.watching).toBe(1);
    socket.destroy();
    await untilHolds('the watcher is gone', () => jobs.watching === 0);
    held.open();
    await pollUntil(app, a, job.id, (v) => v.status === 'completed');
  });

  it('writes progress without flooding the store: phase changes at once, steps at most once per interval, the end always', async () => {
    let updates = 0;
    const store = wrapStore(vb.store, { onUpdate: () => updates++ });
    const { app } = vb.bench({ store, jobs: { writeIntervalMs: 60_000 } });
    const { a } = vb.tokens();
    const job = (await create(app, a, body({ num_inference_steps: 50 }))).json() as VideoObject;
    await pollUntil(app, a, job.id, (v) => v.status === 'completed');
    // At most encoding (in_progress), denoising, the first step, decoding, and the end; never one per step
    // (a fast run coalesces: each write takes the latest state).
    expect(updates).toBeGreaterThanOrEqual(2);
    expect(updates).toBeLessThanOrEqual(5);
    expect(await vb.store.getJob(callerOf(a), job.id)).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('holds the drain until the video is stored, and leaves a job a shutdown aborts to run again', async () => {
    // A bus of its own: a new coordinator runs again every unfinished job it finds.
    const own = await startVideosBus();
    try {
      await drainAndShutdown(own);
    } finally {
      await own.stop();
    }
  });

  async function drainAndShutdown(vb: VideosBus): Promise<void> {
    const putHeld = gate();
    const store = wrapStore(vb.store, { putVideo: () => putHeld.wait });
    const { app, inFlight, generation, pipeline, drain } = vb.bench({ store });
    const { a } = vb.tokens();
    const job = (await create(app, a, body())).json() as VideoObject;
    await untilHolds('the video is being stored', () => pipeline.calls.decode.length === 1 && generation.size === 0);
    // The generation is over; the job still holds its place until its video is stored.
    expect(inFlight.size).toBe(1);
    expect(await inFlight.waitIdle(0)).toBe(false);
    putHeld.open();
    expect(await inFlight.waitIdle(20_000)).toBe(true);
    expect(await vb.store.getJob(callerOf(a), job.id)).toMatchObject({ status: 'completed' });

    // Aborted by a shutdown whose drain ran out: the record stays unfinished, to run again.
    const held = gate();
    pipeline.hooks.denoise = () => held.wait;
    const cut = (await create(app, a, body())).json() as VideoObject;
    await untilHolds('it is denoising', () => pipeline.calls.denoise.length === 5);
    drain.begin();
    inFlight.abortAll(coordinatorError('SPOOL_ERR_SHUTTING_DOWN', 'the coordinator is shutting down and its drain period (SPOOL_DRAIN_S) is over'));
    expect(await inFlight.waitIdle(20_000)).toBe(true);
    held.open();
    const left = await vb.store.getJob(callerOf(a), cut.id);
    expect(left?.status).toMatch(/^(queued|in_progress)$/);
    expect(left?.error).toBeUndefined();

    // A new coordinator runs it again, with the same parameters and seed.
    const next = vb.bench();
    expect(await next.jobs.resume()).toEqual({ resumed: 1, failed: 0, left: 0 });
    const again = await pollUntil(next.app, a, cut.id, (v) => v.status === 'completed');
    expect(again).toMatchObject({ attempts: 2, seed: 3, progress: 100 });
    expect(next.pipeline.calls.prompts).toEqual([['', 'snow falling at night']]);
  }

  it('runs again, at start, the jobs left queued or running (a running one counting an attempt), and fails with SPOOL_ERR_JOB_INTERRUPTED one out of attempts', async () => {
    const own = await startVideosBus();
    try {
      await resumeAtStart(own);
    } finally {
      await own.stop();
    }
  });

  async function resumeAtStart(vb: VideosBus): Promise<void> {
    const { a, b } = vb.tokens();
    const now = Date.now();
    const job = (caller: string, at: number, over: Partial<JobRecord>): JobRecord => ({
      v: 1,
      id: newJobId(at),
      caller,
      model: manifest.name,
      status: 'queued',
      progress: 0,
      params: { prompt: `job at ${at}`, numFrames: 9, fps: 8, guidanceScale: 6, guidanceRescale: 0, steps: 3, seed: at % 1000 },
      createdAt: at,
      updatedAt: at,
      ...over,
    });
    const queued = await vb.store.createJob(job(callerOf(a), now - 30, {}));
    const running = await vb.store.createJob(job(callerOf(b), now - 20, { status: 'in_progress', progress: 45, startedAt: now - 10, attempts: 2 }));
    const spent = await vb.store.createJob(job(callerOf(a), now - 10, { status: 'in_progress', progress: 12, attempts: 3 }));
    // Still waiting for a slot when its coordinator stopped: that run had not started.
    const waited = await vb.store.createJob(job(callerOf(b), now - 5, { attempts: 3 }));

    const { app, jobs, pipeline } = vb.bench({ jobs: { maxAttempts: 3 } });
    // A watcher of a job not running yet gets its stored state, then follows it once it runs.
    const stream = app.inject({ method: 'GET', url: `/v1/videos/${running.id}/events`, headers: b });
    await untilHolds('the watcher is listening', () => jobs.watching === 1);
    const summary = await jobs.resume();
    expect(summary).toEqual({ resumed: 3, failed: 1, left: 0 });
    for (const [headers, id, attempts] of [
      [a, queued.id, 1],
      [b, running.id, 3],
      [b, waited.id, 3],
    ] as const) {
      const v = await pollUntil(app, headers, id, (x) => x.status === 'completed');
      expect(v.attempts).toBe(attempts);
      expect((await app.inject({ method: 'GET', url: `/v1/videos/${id}/content`, headers })).statusCode).toBe(200);
    }
    expect(pipeline.calls.prompts.map((p) => p[1]).sort()).toEqual([queued.params.prompt, running.params.prompt, waited.params.prompt].sort());
    const failed = (await app.inject({ method: 'GET', url: `/v1/videos/${spent.id}`, headers: a })).json() as VideoObject;
    expect(failed).toMatchObject({ status: 'failed', progress: 12, attempts: 3, error: { code: 'SPOOL_ERR_JOB_INTERRUPTED', message: expect.stringMatching(/interrupted by a coordinator stop 3 time\(s\)/) } });
    const events = parseEvents((await stream).payload).events;
    expect(events[0]).toMatchObject({ event: 'phase', data: { status: 'in_progress', progress: 45, phase: 'queued' } });
    expect(events.at(-1)).toMatchObject({ event: 'completed', data: { attempts: 3 } });
    expect(events.map((e) => e.event)).toContain('step');
    // Nothing is left to run again.
    expect(await jobs.resume()).toEqual({ resumed: 0, failed: 0, left: 0 });
  }

  it('counts the jobs in the store by status in spool_jobs', async () => {
    const { app, jobs } = vb.bench();
    const { a } = vb.tokens();
    const id = (await create(app, a, body())).json().id as string;
    await pollUntil(app, a, id, (v) => v.status === 'completed');
    const want = await jobs.countByStatus();
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).payload;
    const samples = parseExposition(text).samples.filter((s) => s.name === 'spool_jobs');
    expect(Object.fromEntries(samples.map((s) => [s.labels.status, s.value]))).toEqual(want);
    expect(want.completed).toBeGreaterThanOrEqual(1);
    expect(Object.keys(want).sort()).toEqual(['completed', 'failed', 'in_progress', 'queued']);
  });
});
