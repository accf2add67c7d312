/**
 * The jobs behind /v1/videos: asynchronous generations whose records and
 * videos live in the job store, so that a coordinator restart loses none.
 * Every job runs on the generation service like any request (admission,
 * deadline, drain, board, retries, metrics, traces); this service makes and
 * reads the records, runs each job to its stored end (`job-run.ts`), tells
 * watchers where a job is, cancels and deletes, and, at start, runs again
 * the jobs a stopped coordinator left queued or running (`resume`).
 *
 * A caller (the token's `token-<n>`) reaches its own jobs only: another
 * caller's id answers exactly as an unknown one does. The store may open
 * after the service (NATS or JetStream not reachable yet); until then every
 * call fails with 503 SPOOL_ERR_STORAGE_UNAVAILABLE saying why.
 */
import type { ModelManifest } from '@spool/shared';
import { coordinatorError } from '../errors.ts';
import type { GenerationService } from '../generation/service.ts';
import type { GenerationParams } from '../pipeline/runner.ts';
import { isFinal, recordEvent, type JobEvent } from './job-events.ts';
import { resumeJobs, type ResumeSummary } from './job-recovery.ts';
import { isUnfinished, runJob, type JobLog, type RunDeps } from './job-run.ts';
import type { LiveJob } from './live-job.ts';
import { JOB_RECORD_VERSION, newJobId, type JobRecord, type JobStatus } from './record.ts';
import type { JobStore } from './store.ts';
import { modelSize } from './videos-body.ts';
import { videoObject, type VideoObject, type VideoView } from './video-object.ts';
import type { StoredVideo, VideoRead } from './videos.ts';

export interface JobServiceOptions {
  readonly generation: GenerationService;
  readonly manifest: ModelManifest;
  /** The job store; `useStore` gives it later when it opens after the service. */
  readonly store?: JobStore;
  readonly log?: JobLog;
  /** Runs of a job at most, the first included, across coordinator restarts (SPOOL_JOBS_MAX_ATTEMPTS). */
  readonly maxAttempts?: number;
  /** Least time between two progress writes of one job, ms. */
  readonly writeIntervalMs?: number;
  /** How often a watcher of a job not running here reads its record, ms. */
  readonly pollMs?: number;
  /** How long `resume` waits before trying again a job admission refused without a Retry-After, ms. */
  readonly retryMs?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
/** At most two writes a second per job, besides its phase changes. */
export const DEFAULT_WRITE_INTERVAL_MS = 500;

export interface VideoPage {
  readonly data: VideoObject[];
  readonly hasMore: boolean;
}

export interface DeleteResult {
  /** The job and its video are gone. */
  readonly deleted: boolean;
  /** It was queued or running and is now failed with SPOOL_ERR_CANCELLED (its record stays; DELETE again removes it). */
  readonly cancelled: boolean;
}

const quiet = (): void => undefined;
/** pino's log functions are overloaded; these take any of their arguments and log nothing. */
const SILENT = { debug: quiet, info: quiet, warn: quiet, error: quiet } as unknown as JobLog;

export class JobService {
  readonly manifest: ModelManifest;
  readonly generation: GenerationService;
  readonly maxAttempts: number;
  private store_: JobStore | undefined;
  private unavailable = 'the job store is not open yet';
  private readonly log: JobLog;
  private readonly live = new Map<string, LiveJob>();
  /** Watchers waiting for a job to start running here, by job id. */
  private readonly wakers = new Map<string, Set<() => void>>();
  private readonly closing = new AbortController();
  private watchers = 0;

  constructor(private readonly opts: JobServiceOptions) {
    this.manifest = opts.manifest;
    this.generation = opts.generation;
    this.maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) throw new RangeError(`maxAttempts must be a whole number ≥ 1 (got ${this.maxAttempts})`);
    this.log = opts.log ?? SILENT;
    this.store_ = opts.store;
  }

  /** The store opened: jobs can be made and read. */
  useStore(store: JobStore): void {
    this.store_ = store;
  }

  /** Why there is no store (yet): the message of the 503 every call answers with meanwhile. */
  storeUnavailable(reason: string): void {
    this.unavailable = reason;
  }

  get store(): JobStore | undefined {
    return this.store_;
  }

  /** Streams of job events open now. */
  get watching(): number {
    return this.watchers;
  }

  /** Jobs running (or queued) in this coordinator now. */
  get running(): number {
    return this.live.size;
  }

  get view(): VideoView {
    return { size: modelSize(this.manifest), maxAgeMs: this.requireStore().limits.maxAgeMs };
  }

  /**
   * Makes a job and starts it; resolves once admission took it and its
   * record is stored, with the video object (`queued`, progress 0). Rejects
   * as POST /generate would (a 429 refusal, 503 draining or a stage missing)
   * and then stores nothing, or with the store's error.
   */
  async create(caller: string, params: GenerationParams): Promise<VideoObject> {
    const store = this.requireStore();
    const now = Date.now();
    const record: JobRecord = {
      v: JOB_RECORD_VERSION,
      id: newJobId(now),
      caller,
      model: this.manifest.name,
      status: 'queued',
      progress: 0,
      params: { ...params },
      createdAt: now,
      updatedAt: now,
      attempts: 1,
    };
    const view = this.view;
    await this.run(store, record, true).recorded;
    return videoObject(record, view);
  }

  /** A caller's job as a video object (a running one as it is now); 404 SPOOL_ERR_JOB_NOT_FOUND for any other. */
  async get(caller: string, id: string): Promise<VideoObject> {
    const live = this.liveOf(caller, id);
    if (live) return live.current().video;
    const store = this.requireStore();
    const r = await store.getJob(caller, id);
    if (!r) throw notFound(id);
    return videoObject(r, this.view);
  }

  /** A page of a caller's jobs, newest first by default. */
  async list(caller: string, q: { limit?: number; after?: string; order?: 'asc' | 'desc' }): Promise<VideoPage> {
    const store = this.requireStore();
    const page = await store.listJobs(caller, q);
    const view = this.view;
    return { data: page.jobs.map((r) => this.liveOf(caller, r.id)?.current().video ?? videoObject(r, view)), hasMore: page.hasMore };
  }

  /** A completed job's video as a stream; 404 with why when there is none to give. */
  async video(caller: string, id: string): Promise<{ video: StoredVideo; stream: VideoRead['stream'] }> {
    const store = this.requireStore();
    const r = await store.getJob(caller, id);
    if (!r) throw notFound(id);
    if (r.status !== 'completed') throw notReady(this.liveOf(caller, id)?.current().video ?? videoObject(r, this.view));
    const read = await store.getVideo(caller, id);
    if (!read) throw coordinatorError('SPOOL_ERR_JOB_NOT_FOUND', `job ${id} completed, but its video is no longer stored (videos are kept SPOOL_JOBS_MAX_AGE_H)`);
    return read;
  }

  /**
   * DELETE: a queued or running job is cancelled (a running one stops within
   * one step) and kept as failed with SPOOL_ERR_CANCELLED; a finished one is
   * deleted with its video. Resolves once that is stored.
   */
  async remove(caller: string, id: string): Promise<DeleteResult> {
    const store = this.requireStore();
    const live = this.liveOf(caller, id);
    if (live) {
      live.generation.cancel(`job ${id} was cancelled (DELETE /v1/videos/${id})`);
      await live.settled;
    }
    const r = await store.getJob(caller, id);
    if (!r) throw notFound(id);
    if (isUnfinished(r)) {
      // Stored as unfinished but not running here: waiting to run again after a restart.
      const cancelled = await store.updateJob(caller, id, (cur) => (isUnfinished(cur) ? cancelledRecord(cur) : undefined));
      if (cancelled && !isUnfinished(cancelled)) this.wake(id);
      if (cancelled?.status === 'failed') return { deleted: false, cancelled: true };
    } else if (live && r.status === 'failed' && r.error?.code === 'SPOOL_ERR_CANCELLED') {
      return { deleted: false, cancelled: true };
    }
    // Finished (or it finished before the cancel took): deleted with its video.
    return { deleted: await store.deleteJob(caller, id), cancelled: false };
  }

  /**
   * A job's events for a watcher: its current state at once, then each phase
   * change and step while it runs here, ending with its last event. A job
   * not running here (waiting to run again after a restart, or run by
   * nothing) is read from its record every `pollMs` until it runs here or
   * ends. Ends early when `signal` aborts or the service closes; rejects with
   * 404 when there is no such job.
   */
  async *watch(caller: string, id: string, signal: AbortSignal): AsyncGenerator<JobEvent, void, undefined> {
    const both = AbortSignal.any([signal, this.closing.signal]);
    this.watchers++;
    try {
      let last: JobEvent | undefined;
      while (!both.aborted) {
        const live = this.liveOf(caller, id);
        if (live) {
          for await (const e of live.events(both)) {
            yield e;
            if (isFinal(e)) return;
          }
          continue;
        }
        const r = await this.requireStore().getJob(caller, id);
        if (!r) {
          if (!last) throw notFound(id);
          // Deleted (or expired) while watched.
          const video = { ...last.video, status: 'failed' as const, error: { code: 'SPOOL_ERR_JOB_NOT_FOUND', message: `job ${id} was deleted` } };
          yield { type: 'failed', video, phase: 'failed', step: 0, steps: last.steps };
          return;
        }
        const e = recordEvent(r, this.view);
        if (!last || e.type !== last.type || e.video.status !== last.video.status || e.video.progress !== last.video.progress) yield e;
        if (isFinal(e)) return;
        last = e;
        await this.waitForStart(id, both);
      }
    } finally {
      this.watchers--;
    }
  }

  /**
   * Runs again the jobs a stopped coordinator left queued or running, oldest
   * first: a running one counts one more attempt, and one that has had
   * `maxAttempts` fails with SPOOL_ERR_JOB_INTERRUPTED instead. Waits while
   * admission refuses (or a stage is missing) and stops when the
   * coordinator drains.
   */
  resume(): Promise<ResumeSummary> {
    return resumeJobs({
      store: this.requireStore(),
      maxAttempts: this.maxAttempts,
      retryMs: this.opts.retryMs ?? 2_000,
      log: this.log,
      signal: this.closing.signal,
      draining: () => this.generation.drain.draining,
      isLive: (id) => this.live.has(id),
      run: (record) => this.run(this.requireStore(), record, false),
    });
  }

  /** Jobs in the store by status, every caller's. */
  countByStatus(): Promise<Record<JobStatus, number>> {
    return this.requireStore().countByStatus();
  }

  /** Ends every watcher's stream and stops `resume`; the jobs running go on to their end. */
  close(): void {
    this.closing.abort();
  }

  private run(store: JobStore, record: JobRecord, create: boolean): LiveJob {
    const deps: RunDeps = { generation: this.generation, store, view: this.view, log: this.log, writeIntervalMs: this.opts.writeIntervalMs ?? DEFAULT_WRITE_INTERVAL_MS };
    const live = runJob(deps, record, create);
    this.live.set(record.id, live);
    void live.settled.then(() => {
      if (this.live.get(record.id) === live) this.live.delete(record.id);
    });
    this.wake(record.id);
    return live;
  }

  private liveOf(caller: string, id: string): LiveJob | undefined {
    const live = this.live.get(id);
    return live && live.caller === caller ? live : undefined;
  }

  private requireStore(): JobStore {
    if (!this.store_) throw coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `jobs are not available: ${this.unavailable}`);
    return this.store_;
  }

  /** Resolves after `pollMs`, when job `id` starts running here, or when `signal` aborts. */
  private waitForStart(id: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wakers = this.wakers.get(id) ?? new Set<() => void>();
      this.wakers.set(id, wakers);
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wakers.delete(done);
        if (wakers.size === 0 && this.wakers.get(id) === wakers) this.wakers.delete(id);
        resolve();
      };
      const timer = setTimeout(done, this.opts.pollMs ?? 1_000);
      wakers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private wake(id: string): void {
    for (const done of [...(this.wakers.get(id) ?? [])]) done();
  }
}

function notFound(id: string): Error {
  const shown = id.length > 40 ? `${id.slice(0, 40)}…` : id;
  return coordinatorError('SPOOL_ERR_JOB_NOT_FOUND', `no job ${JSON.stringify(shown)} for this token (jobs are kept SPOOL_JOBS_MAX_AGE_H after their last change)`);
}

function notReady(v: VideoObject): Error {
  if (v.status === 'failed') {
    return coordinatorError('SPOOL_ERR_VIDEO_NOT_READY', `job ${v.id} has no video: it failed (${v.error?.code ?? 'no code'}: ${v.error?.message ?? 'no message'})`);
  }
  const now = v.status === 'queued' ? 'queued' : `in progress (${v.progress}%)`;
  return coordinatorError('SPOOL_ERR_VIDEO_NOT_READY', `job ${v.id} has no video yet: it is ${now}; download it once its status is completed (GET /v1/videos/${v.id}, or its events)`);
}

function cancelledRecord(r: JobRecord): JobRecord {
  return { ...r, status: 'failed', error: { code: 'SPOOL_ERR_CANCELLED', message: `job ${r.id} was cancelled (DELETE /v1/videos/${r.id})` }, completedAt: Date.now() };
}
