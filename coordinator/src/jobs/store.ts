/**
 * Where jobs live: job records in a JetStream key-value bucket and finished
 * videos in a JetStream object store, both of the coordinator alone (the bus
 * lets no other identity near them). Opened on the coordinator's own
 * connection; nothing is kept in this process, so a coordinator that starts
 * again (a new connection, the same buckets) finds every job, and a
 * nats-server started again on the same store folder loses none.
 *
 * Records are keyed `<caller>.<id>`: one caller's jobs are listed by their
 * keys alone (the subjects the records stream holds, one request, no
 * consumer), newest first because ids carry their creation time, and a
 * caller can never reach another's job by its id. Writes to an existing
 * record are compare-and-set on its revision, so a record deleted while its
 * job runs stays deleted. Records that do not parse are skipped with a log
 * line; no log line names a prompt.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import { kvStream, wireError } from '@spool/shared';
import { coordinatorError } from '../errors.ts';
import { MAX_RECORD_BYTES, openBuckets, type StoreLog } from './buckets.ts';
import type { JobStoreLimits } from './limits.ts';
import { encodeJobRecord, isCaller, isJobId, JOB_STATUSES, parseJobRecord, recordKey, type JobRecord, type JobStatus } from './record.ts';
import { JS_CODES, storeError } from './store-errors.ts';
import { VideoBucket } from './video-bucket.ts';
import { VIDEO_READ_IDLE_MS, type StoredVideo, type VideoRead } from './videos.ts';

export interface JobStoreOptions {
  readonly model: string;
  readonly limits: JobStoreLimits;
  readonly log: StoreLog;
  /** How long one JetStream call may take, ms. */
  readonly timeoutMs?: number;
  /** How long a video read may go without a chunk before it fails, ms (VIDEO_READ_IDLE_MS). */
  readonly readIdleMs?: number;
}

export interface JobPage {
  /** Newest first. */
  readonly jobs: readonly JobRecord[];
  /** More jobs follow the last one: ask again with `after` set to its id. */
  readonly hasMore: boolean;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
/** Records read at once when a page or a scan fetches many. */
const PARALLEL_READS = 16;
/**
 * Tries of a compare-and-set update: a try fails only when another write
 * landed since the read, so with fewer writers than this at once every
 * update lands (a job has its runner and now and then a delete or cancel).
 */
const UPDATE_TRIES = 10;

export class JobStore {
  readonly limits: JobStoreLimits;
  /** The bucket names: `spool-jobs-<model>`, `spool-videos-<model>`. */
  readonly buckets: { readonly records: string; readonly videos: string };
  readonly #jsm: JetStreamManager;
  readonly #records: KV;
  readonly #videoBucket: VideoBucket;
  readonly #log: StoreLog;

  private constructor(jsm: JetStreamManager, records: KV, videos: ObjectStore, buckets: JobStore['buckets'], opts: JobStoreOptions) {
    this.#jsm = jsm;
    this.#records = records;
    this.#videoBucket = new VideoBucket(videos, opts.limits, opts.readIdleMs ?? VIDEO_READ_IDLE_MS);
    this.buckets = buckets;
    this.limits = opts.limits;
    this.#log = opts.log;
  }

  /** Opens the model's buckets, making them (or bringing their limits up to date) as needed. */
  static async open(nc: NatsConnection, opts: JobStoreOptions): Promise<JobStore> {
    // No account-info probe: the bus gives the coordinator its own streams' API only.
    const js = jetstream(nc, { checkAPI: false, timeout: opts.timeoutMs ?? 5_000 });
    const { jsm, records, videos, names } = await openBuckets(js, opts.model, opts.limits, opts.log);
    return new JobStore(jsm, records, videos, names, opts);
  }

  /** Stores a new job's record; its id must be new. */
  async createJob(record: JobRecord): Promise<JobRecord> {
    const bytes = encodeRecord(record);
    try {
      await this.#records.create(recordKey(record.caller, record.id), bytes);
    } catch (err) {
      if (isWrongLastSequence(err)) throw wireError('SPOOL_ERR_INTERNAL', `a job ${record.id} of ${record.caller} is already stored; job ids must be new (newJobId)`);
      throw storeError(err, `storing job ${record.id}`);
    }
    return record;
  }

  /**
   * Changes a stored record: `change` gets the current record and returns the
   * new one (its id, caller and creation time kept) or undefined to leave it.
   * Resolves with the stored record, or null when there is none (deleted,
   * expired or never made): a job whose record is gone is not written back.
   */
  async updateJob(caller: string, id: string, change: (current: JobRecord) => JobRecord | undefined): Promise<JobRecord | null> {
    const key = recordKey(caller, id);
    for (let attempt = 1; ; attempt++) {
      const found = await this.#read(caller, id);
      if (!found) return null;
      const next = change(found.record);
      if (next === undefined) return found.record;
      if (next.id !== id || next.caller !== caller || next.createdAt !== found.record.createdAt) {
        throw new RangeError(`an update of job ${id} may not change its id, caller or creation time`);
      }
      const updated: JobRecord = { ...next, updatedAt: Math.max(Date.now(), found.record.updatedAt) };
      try {
        await this.#records.update(key, encodeRecord(updated), found.revision);
        return updated;
      } catch (err) {
        if (!isWrongLastSequence(err) || attempt >= UPDATE_TRIES) throw storeError(err, `updating job ${id}`);
        // Another writer won: read again, after a short jittered pause so that writers spread out.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  /**
   * Stores a finished job: its video, then its record as completed. When the
   * record is gone by then (the job was deleted while it ran), the video is
   * deleted again and this resolves with null.
   */
  async completeJob(caller: string, id: string, bytes: Uint8Array, contentType = 'video/mp4'): Promise<JobRecord | null> {
    const video = await this.putVideo(caller, id, bytes, contentType);
    const done = await this.updateJob(caller, id, (r) => ({
      ...r,
      status: 'completed',
      progress: 100,
      completedAt: Date.now(),
      error: undefined,
      video: { bytes: video.bytes, contentType: video.contentType },
    }));
    if (!done) await this.deleteVideo(caller, id);
    return done;
  }

  /** A caller's job, or null (none, another caller's, deleted, expired, or unreadable). */
  async getJob(caller: string, id: string): Promise<JobRecord | null> {
    if (!isCaller(caller) || !isJobId(id)) return null;
    return (await this.#read(caller, id))?.record ?? null;
  }

  /**
   * A page of a caller's jobs, newest first (or oldest first with `order:
   * 'asc'`); `after` is the id of the last job of the previous page.
   */
  async listJobs(caller: string, opts: { limit?: number; after?: string; order?: 'asc' | 'desc' } = {}): Promise<JobPage> {
    const limit = opts.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw coordinatorError('SPOOL_ERR_VALIDATION', `limit must be an integer from 1 to ${MAX_PAGE_SIZE} (got ${limit})`);
    }
    if (opts.after !== undefined && !isJobId(opts.after)) {
      throw coordinatorError('SPOOL_ERR_VALIDATION', 'after must be the id of a job from the previous page (video_ and 28 hex digits)');
    }
    if (!isCaller(caller)) return { jobs: [], hasMore: false };
    const ascending = opts.order === 'asc';
    const ids = (await this.#keys(`${caller}.*`))
      .map((k) => k.slice(caller.length + 1))
      .filter((id) => isJobId(id) && (opts.after === undefined || (ascending ? id > opts.after : id < opts.after)))
      .sort();
    if (!ascending) ids.reverse();
    // One more than the page says whether more follow; unreadable records are skipped, so read on until enough parse.
    const jobs: JobRecord[] = [];
    for (let at = 0; at < ids.length && jobs.length <= limit; ) {
      const batch = ids.slice(at, at + Math.min(PARALLEL_READS, limit + 1 - jobs.length));
      at += batch.length;
      for (const found of await Promise.all(batch.map((id) => this.#read(caller, id)))) if (found) jobs.push(found.record);
    }
    return { jobs: jobs.slice(0, limit), hasMore: jobs.length > limit };
  }

  /**
   * Every caller's jobs with one of `statuses`, oldest first: after a
   * restart, the queued and running jobs to run again.
   */
  async jobsWithStatus(statuses: readonly JobStatus[]): Promise<JobRecord[]> {
    const keys = (await this.#keys('>')).filter(isRecordKey).sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    const out: JobRecord[] = [];
    for (let at = 0; at < keys.length; at += PARALLEL_READS) {
      const batch = keys.slice(at, at + PARALLEL_READS);
      const read = await Promise.all(batch.map((k) => this.#read(k.slice(0, k.indexOf('.')), idOf(k))));
      for (const found of read) if (found && statuses.includes(found.record.status)) out.push(found.record);
    }
    return out;
  }

  /** How many jobs of every caller the store holds now, by status (a scan of every record). */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const job of await this.jobsWithStatus(JOB_STATUSES)) counts[job.status]++;
    return counts;
  }

  /** Deletes a caller's job and its video; false when there was no such job. */
  async deleteJob(caller: string, id: string): Promise<boolean> {
    if (!isCaller(caller) || !isJobId(id)) return false;
    const existed = (await this.#entry(caller, id)) !== null;
    await this.deleteVideo(caller, id);
    try {
      if (existed) await this.#records.delete(recordKey(caller, id));
    } catch (err) {
      throw storeError(err, `deleting job ${id}`);
    }
    return existed;
  }

  /** Stores a job's finished video (replacing one stored before); a full bucket refuses it with SPOOL_ERR_STORAGE_FULL. */
  putVideo(caller: string, id: string, bytes: Uint8Array, contentType = 'video/mp4'): Promise<StoredVideo> {
    return this.#videoBucket.put(caller, id, bytes, contentType);
  }

  /** A job's video as a stream of bytes (checked against its SHA-256 as it is read), or null. */
  getVideo(caller: string, id: string): Promise<VideoRead | null> {
    return this.#videoBucket.read(caller, id);
  }

  /** A job's video as one buffer, or null. */
  getVideoBytes(caller: string, id: string): Promise<{ video: StoredVideo; bytes: Uint8Array } | null> {
    return this.#videoBucket.bytes(caller, id);
  }

  /** What a job's video is (size, type, digest) without reading it, or null. */
  videoInfo(caller: string, id: string): Promise<StoredVideo | null> {
    return this.#videoBucket.info(caller, id);
  }

  /** Deletes a job's video; false when there was none. */
  deleteVideo(caller: string, id: string): Promise<boolean> {
    return this.#videoBucket.delete(caller, id);
  }

  /** How full the buckets are. */
  async usage(): Promise<{ records: { count: number; bytes: number; maxBytes: number }; videos: { bytes: number; maxBytes: number } }> {
    try {
      const [r, videoBytes] = await Promise.all([this.#records.status(), this.#videoBucket.size()]);
      return {
        records: { count: r.values, bytes: r.size, maxBytes: this.limits.recordsMaxBytes },
        videos: { bytes: videoBytes, maxBytes: this.limits.videosMaxBytes },
      };
    } catch (err) {
      throw storeError(err, 'reading the job store usage');
    }
  }

  async #entry(caller: string, id: string): Promise<{ value: Uint8Array; revision: number } | null> {
    let e;
    try {
      e = await this.#records.get(recordKey(caller, id));
    } catch (err) {
      throw storeError(err, `reading job ${id}`);
    }
    return e && e.operation === 'PUT' ? { value: e.value, revision: e.revision } : null;
  }

  /** A record and its revision; an unreadable one is logged and counts as none. */
  async #read(caller: string, id: string): Promise<{ record: JobRecord; revision: number } | null> {
    const e = await this.#entry(caller, id);
    if (!e) return null;
    const parsed = parseJobRecord(e.value, { caller, id });
    if (parsed.problem !== undefined) {
      this.#log.warn({ bucket: this.buckets.records, key: recordKey(caller, id), revision: e.revision, problem: parsed.problem }, 'job store: skipping a record that does not parse');
      return null;
    }
    return { record: parsed.record, revision: e.revision };
  }

  /** Keys matching `filter` (`<caller>.*`, `>`), deleted ones included until their marker expires. */
  async #keys(filter: string): Promise<string[]> {
    const prefix = `$KV.${this.buckets.records}.`;
    try {
      const info = await this.#jsm.streams.info(kvStream(this.buckets.records), { subjects_filter: `${prefix}${filter}` });
      return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
    } catch (err) {
      throw storeError(err, 'listing job records');
    }
  }
}

function encodeRecord(r: JobRecord): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = encodeJobRecord(r);
  } catch (err) {
    throw coordinatorError('SPOOL_ERR_VALIDATION', (err as Error).message);
  }
  if (bytes.byteLength > MAX_RECORD_BYTES) {
    throw coordinatorError('SPOOL_ERR_VALIDATION', `job ${r.id}: its record is ${bytes.byteLength} bytes, more than the ${MAX_RECORD_BYTES} a record may take`);
  }
  return bytes;
}

function idOf(key: string): string {
  return key.slice(key.indexOf('.') + 1);
}

/** A key of the form `<caller>.<id>`. */
function isRecordKey(key: string): boolean {
  const dot = key.indexOf('.');
  return dot > 0 && isCaller(key.slice(0, dot)) && isJobId(key.slice(dot + 1));
}

function isWrongLastSequence(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === JS_CODES.wrongLastSequence || (err instanceof Error && /wrong last sequence/i.test(err.message));
}
