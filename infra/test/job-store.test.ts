/**
 * The job store against a real nats-server with JetStream and the closed
 * bus, as the coordinator uses it: records (create, compare-and-set update,
 * get, a caller's pages newest first, the unfinished ones after a restart,
 * delete), videos (put, read as a stream or a buffer, replace, delete),
 * unreadable records skipped with a log line, and the limits: a full bucket
 * refuses with a typed error, old jobs expire, changed limits are applied.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { JobStore, newJobId, readJobStoreLimits } from '@spool/coordinator';
import { connectNats, jobsBucket, kvStream, objectStream, videosBucket } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLog, queuedJob, startJobBus, type CapturedLog, type JobBus } from './helpers/job-bus.ts';
import { startTestNats } from './helpers/nats.ts';

const MODEL = 'store-test';
const SECRET = 'a prompt nobody else may read';
const T0 = 1_800_000_000_000;

/** `n` bytes that differ from one position to the next, so that a misplaced chunk shows. */
const video = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

/** Polls `check` until it holds or `ms` pass; resolves with whether it held. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return check();
}

describe('the job store', () => {
  let bus: JobBus;
  let store: JobStore;
  let log: CapturedLog;

  beforeAll(async () => {
    bus = await startJobBus(MODEL);
    log = captureLog();
    store = await bus.openStore({}, log);
  });

  afterAll(async () => {
    await bus?.stop();
  });

  it("keeps a caller's job under its own key, where no other caller finds it", async () => {
    const job = queuedJob(MODEL, 'token-0', T0, SECRET);
    await store.createJob(job);
    expect(await store.getJob('token-0', job.id)).toEqual(job);
    expect(await store.getJob('token-1', job.id)).toBeNull();
    expect(await store.getJob('token-0', newJobId())).toBeNull();
    expect(await store.getJob('token-0', 'not-an-id')).toBeNull();
    await expect(store.createJob(job)).rejects.toMatchObject({ code: 'SPOOL_ERR_INTERNAL', message: expect.stringMatching(/already stored/) });
    await expect(store.createJob({ ...job, id: newJobId(), progress: 150 })).rejects.toMatchObject({ code: 'SPOOL_ERR_VALIDATION' });
    await expect(store.createJob({ ...job, id: newJobId(), params: { ...job.params, prompt: 'x'.repeat(70_000) } })).rejects.toMatchObject({
      code: 'SPOOL_ERR_VALIDATION',
      message: expect.stringMatching(/more than the 65536 a record may take/),
    });
  });

  it('updates a record by compare-and-set: concurrent updates all land, and a deleted job stays deleted', async () => {
    const job = await store.createJob(queuedJob(MODEL, 'token-0', T0 + 1));
    const steps = await Promise.all(
      Array.from({ length: 6 }, () => store.updateJob('token-0', job.id, (r) => ({ ...r, status: 'in_progress', progress: r.progress + 10 }))),
    );
    expect(steps.every((r) => r !== null)).toBe(true);
    const now = await store.getJob('token-0', job.id);
    expect(now).toMatchObject({ status: 'in_progress', progress: 60, createdAt: job.createdAt });
    expect(now!.updatedAt).toBeGreaterThanOrEqual(job.updatedAt);
    expect(await store.updateJob('token-0', job.id, () => undefined)).toEqual(now);
    await expect(store.updateJob('token-0', job.id, (r) => ({ ...r, caller: 'token-9' }))).rejects.toThrow(/may not change its id, caller or creation time/);

    expect(await store.deleteJob('token-0', job.id)).toBe(true);
    expect(await store.updateJob('token-0', job.id, (r) => ({ ...r, progress: 99 }))).toBeNull();
    expect(await store.getJob('token-0', job.id)).toBeNull();
    expect(await store.deleteJob('token-0', job.id)).toBe(false);
  });

  it("pages through a caller's jobs newest first, with the id of the last job as the cursor", async () => {
    const mine = [];
    for (let i = 0; i < 23; i++) mine.push(await store.createJob(queuedJob(MODEL, 'token-7', T0 + 1_000 + i)));
    for (let i = 0; i < 3; i++) await store.createJob(queuedJob(MODEL, 'token-8', T0 + 1_500 + i));
    const newestFirst = mine.map((j) => j.id).reverse();

    const seen: string[] = [];
    let after: string | undefined;
    const pages: boolean[] = [];
    for (;;) {
      const page = await store.listJobs('token-7', { limit: 10, after });
      seen.push(...page.jobs.map((j) => j.id));
      pages.push(page.hasMore);
      if (!page.hasMore) break;
      after = page.jobs.at(-1)!.id;
    }
    expect(seen).toEqual(newestFirst);
    expect(pages).toEqual([true, true, false]);
    expect((await store.listJobs('token-7')).jobs).toHaveLength(20);
    expect((await store.listJobs('token-8')).jobs.map((j) => j.caller)).toEqual(['token-8', 'token-8', 'token-8']);
    expect(await store.listJobs('token-9')).toEqual({ jobs: [], hasMore: false });

    // A cursor whose job was deleted since still marks its place.
    await store.deleteJob('token-7', newestFirst[9]);
    expect((await store.listJobs('token-7', { limit: 3, after: newestFirst[9] })).jobs.map((j) => j.id)).toEqual(newestFirst.slice(10, 13));

    await expect(store.listJobs('token-7', { limit: 0 })).rejects.toMatchObject({ code: 'SPOOL_ERR_VALIDATION', message: expect.stringMatching(/limit must be an integer from 1 to 100/) });
    await expect(store.listJobs('token-7', { after: 'page-2' })).rejects.toMatchObject({ code: 'SPOOL_ERR_VALIDATION', message: expect.stringMatching(/after must be the id of a job/) });
  });

  it('skips a record that does not parse, with a log line that names its key and the problem but never a prompt', async () => {
    const good = await store.createJob(queuedJob(MODEL, 'token-5', T0 + 2_000, SECRET));
    const garbled = newJobId(T0 + 2_001);
    const future = newJobId(T0 + 2_002);
    const misfiled = queuedJob(MODEL, 'token-6', T0 + 2_003, SECRET);
    const kv = await new Kvm(jetstream(await bus.connect(), { checkAPI: false })).open(jobsBucket(MODEL));
    await kv.put(`token-5.${garbled}`, '{"v":1,"id":');
    await kv.put(`token-5.${future}`, JSON.stringify({ ...queuedJob(MODEL, 'token-5', T0 + 2_002, SECRET), id: future, v: 2 }));
    await kv.put(`token-5.${misfiled.id}`, JSON.stringify(misfiled));

    expect((await store.listJobs('token-5')).jobs.map((j) => j.id)).toEqual([good.id]);
    expect(await store.getJob('token-5', garbled)).toBeNull();
    const warnings = log.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.obj)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ key: `token-5.${garbled}`, problem: expect.stringMatching(/not UTF-8 JSON/) }),
        expect.objectContaining({ key: `token-5.${future}`, problem: 'record version 2, this coordinator reads version 1' }),
        expect.objectContaining({ key: `token-5.${misfiled.id}`, problem: expect.stringMatching(/its key names token-5\/.* but it holds token-6\//) }),
      ]),
    );
    expect(JSON.stringify(log.lines)).not.toContain(SECRET);
    // Updating or completing an unreadable record leaves it alone.
    expect(await store.updateJob('token-5', garbled, (r) => ({ ...r, progress: 1 }))).toBeNull();
  });

  it('finds every caller\'s unfinished jobs, oldest first, to run again after a restart', async () => {
    const a = await store.createJob(queuedJob(MODEL, 'token-2', T0 + 3_001));
    const b = await store.createJob(queuedJob(MODEL, 'token-3', T0 + 3_000));
    await store.updateJob('token-2', a.id, (r) => ({ ...r, status: 'in_progress', startedAt: T0 + 3_002 }));
    const done = await store.createJob(queuedJob(MODEL, 'token-2', T0 + 3_003));
    await store.completeJob('token-2', done.id, video(10));
    const unfinished = await store.jobsWithStatus(['queued', 'in_progress']);
    const ids = unfinished.map((j) => j.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    expect(ids).not.toContain(done.id);
    expect(unfinished.every((j) => j.status === 'queued' || j.status === 'in_progress')).toBe(true);
    expect((await store.jobsWithStatus(['completed'])).map((j) => j.id)).toContain(done.id);
  });

  it('stores a finished video and reads it back whole, as a stream and as a buffer, checked against its digest', async () => {
    const job = await store.createJob(queuedJob(MODEL, 'token-0', T0 + 4_000));
    const bytes = video(3 * 1024 * 1024 + 123);
    const completed = await store.completeJob('token-0', job.id, bytes);
    expect(completed).toMatchObject({ status: 'completed', progress: 100, video: { bytes: bytes.byteLength, contentType: 'video/mp4' } });
    expect(await store.getJob('token-0', job.id)).toEqual(completed);

    const info = await store.videoInfo('token-0', job.id);
    expect(info).toMatchObject({ caller: 'token-0', id: job.id, bytes: bytes.byteLength, contentType: 'video/mp4', digest: expect.stringMatching(/^SHA-256=/) });
    const read = await store.getVideo('token-0', job.id);
    const chunks: Uint8Array[] = [];
    for await (const c of read!.stream as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    expect(Buffer.concat(chunks).equals(Buffer.from(bytes))).toBe(true);
    expect(Buffer.from((await store.getVideoBytes('token-0', job.id))!.bytes).equals(Buffer.from(bytes))).toBe(true);
    // Another caller does not reach it by the id.
    expect(await store.getVideo('token-1', job.id)).toBeNull();

    // Replacing it leaves only the new bytes; deleting the job deletes its video.
    await store.putVideo('token-0', job.id, video(1000, 7), 'video/webm');
    const replaced = await store.getVideoBytes('token-0', job.id);
    expect(replaced?.video.contentType).toBe('video/webm');
    expect(Buffer.from(replaced!.bytes).equals(Buffer.from(video(1000, 7)))).toBe(true);
    expect(await store.deleteJob('token-0', job.id)).toBe(true);
    expect(await store.getVideo('token-0', job.id)).toBeNull();
    expect(await store.deleteVideo('token-0', job.id)).toBe(false);
    await expect(store.putVideo('token-0', job.id, video(1), 'mp4')).rejects.toThrow(/not a content type/);
  });

  it('does not keep the video of a job deleted while it ran', async () => {
    const job = await store.createJob(queuedJob(MODEL, 'token-0', T0 + 5_000));
    await store.deleteJob('token-0', job.id);
    expect(await store.completeJob('token-0', job.id, video(100))).toBeNull();
    expect(await store.videoInfo('token-0', job.id)).toBeNull();
    expect(await store.getJob('token-0', job.id)).toBeNull();
  });
});

describe('the job store at its limits', () => {
  const MB = 1024 * 1024;

  it('refuses a video that does not fit with SPOOL_ERR_STORAGE_FULL, and keeps what it holds', async () => {
    const bus = await startJobBus(MODEL);
    try {
      const store = await bus.openStore({ videosMaxBytes: 4 * MB });
      const first = newJobId();
      const second = newJobId();
      await store.putVideo('token-0', first, video(3 * MB));
      const refused = await store.putVideo('token-0', second, video(3 * MB)).catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'SPOOL_ERR_STORAGE_FULL', status: 507 });
      expect((refused as Error).message).toMatch(/storing the video of video_\w+ \(3145728 bytes\): the bucket is full/);
      expect(await store.videoInfo('token-0', second)).toBeNull();
      expect(Buffer.from((await store.getVideoBytes('token-0', first))!.bytes).equals(Buffer.from(video(3 * MB)))).toBe(true);
      // The refused video's chunks are gone again: the bucket holds about one video.
      const usage = await store.usage();
      expect(usage.videos.bytes).toBeLessThan(3.1 * MB);
      expect(usage.videos.maxBytes).toBe(4 * MB);
      // Room again once the first is deleted.
      await store.deleteVideo('token-0', first);
      expect((await store.putVideo('token-0', second, video(3 * MB))).bytes).toBe(3 * MB);
    } finally {
      await bus.stop();
    }
  });

  it('lets records and videos expire once older than the age limit', async () => {
    const bus = await startJobBus(MODEL);
    try {
      const store = await bus.openStore({ maxAgeMs: 2_000 });
      const job = await store.createJob(queuedJob(MODEL, 'token-0', Date.now()));
      await store.putVideo('token-0', job.id, video(1000));
      expect(await store.getJob('token-0', job.id)).not.toBeNull();
      const gone = await eventually(async () => (await store.getJob('token-0', job.id)) === null && (await store.videoInfo('token-0', job.id)) === null, 15_000);
      expect(gone).toBe(true);
      expect((await store.listJobs('token-0')).jobs).toEqual([]);
      expect((await store.usage()).records.count).toBe(0);
    } finally {
      await bus.stop();
    }
  });

  it('applies changed limits to buckets that exist, and says so in the log', async () => {
    const bus = await startJobBus(MODEL);
    try {
      const before = await bus.openStore({ videosMaxBytes: 4 * MB });
      const job = await before.createJob(queuedJob(MODEL, 'token-0', T0));
      const log = captureLog();
      const after = await bus.openStore({ videosMaxBytes: 8 * MB, maxAgeMs: 3_600_000, recordsMaxBytes: 2 * MB }, log);
      expect((await after.usage()).videos.maxBytes).toBe(8 * MB);
      const jsm = await jetstream(await bus.connect(), { checkAPI: false }).jetstreamManager(false);
      const obj = (await jsm.streams.info(objectStream(videosBucket(MODEL)))).config;
      const kv = (await jsm.streams.info(kvStream(jobsBucket(MODEL)))).config;
      expect({ max_bytes: obj.max_bytes, max_age: obj.max_age, discard: obj.discard }).toEqual({ max_bytes: 8 * MB, max_age: 3_600_000 * 1e6, discard: 'new' });
      expect({ max_bytes: kv.max_bytes, max_age: kv.max_age, history: kv.max_msgs_per_subject }).toEqual({ max_bytes: 2 * MB, max_age: 3_600_000 * 1e6, history: 1 });
      expect(log.lines.map((l) => l.msg)).toEqual([
        `job store: ${kvStream(jobsBucket(MODEL))} brought to the configured limits`,
        `job store: ${objectStream(videosBucket(MODEL))} brought to the configured limits`,
      ]);
      // The records survive the change.
      expect(await after.getJob('token-0', job.id)).toEqual(job);
    } finally {
      await bus.stop();
    }
  });

  it("says when the server's JetStream cannot hold the buckets, and when there is no JetStream", async () => {
    const bus = await startJobBus(MODEL);
    try {
      // The test server's max_file_store is 2 GiB.
      await expect(bus.openStore({ videosMaxBytes: 4096 * MB })).rejects.toMatchObject({
        code: 'SPOOL_ERR_STORAGE_FULL',
        message: expect.stringMatching(/opening the videos bucket spool-videos-store-test: the NATS server's JetStream has no room for it; its max_file_store must hold/),
      });
    } finally {
      await bus.stop();
    }
    const plain = await startTestNats();
    try {
      const nc = await connectNats({ servers: plain.url, name: 'no-jetstream', waitOnFirstConnect: false });
      await expect(JobStore.open(nc, { model: MODEL, limits: readJobStoreLimits({}), log: captureLog() })).rejects.toMatchObject({
        code: 'SPOOL_ERR_STORAGE_UNAVAILABLE',
        message: expect.stringMatching(/opening the job records bucket spool-jobs-store-test: JetStream is not enabled on the NATS server/),
      });
      await nc.close();
    } finally {
      await plain.stop();
    }
  });
});
