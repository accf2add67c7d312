/**
 * One run of a job on the generation service, from its start to its end
 * stored in the job store:
 *
 *   start the generation (id = job id) ── refused, no stage, draining ──> nothing stored
 *   admission took it (running or queued)
 *   store its record (a new job) ───────── the store fails ──> cancel; nothing stored
 *   follow its events: status and progress written by a RecordWriter
 *   completed: the video into the object store, then the record `completed`
 *   failed or cancelled: the record `failed` with the error
 *   aborted by a shutdown: nothing more stored, so the next start runs it again
 *
 * The run holds an in-flight entry from its start until its end is stored,
 * so a drain on SIGTERM waits for the video write too. The record is only
 * ever moved on from `queued`/`in_progress`: a job cancelled or finished in
 * the meantime is not written back.
 */
import { isSpoolError, SpoolError, type Logger } from '@spool/shared';
import type { GenerationOutcome } from '../generation/generation.ts';
import type { GenerationService } from '../generation/service.ts';
import type { GenerationParams } from '../pipeline/runner.ts';
import { LiveJob } from './live-job.ts';
import { jobProgress, jobStatusOf, PROGRESS_DONE } from './progress.ts';
import { RecordWriter } from './record-writer.ts';
import type { JobRecord } from './record.ts';
import type { JobStore } from './store.ts';
import type { VideoView } from './video-object.ts';

/** What the job service logs. */
export type JobLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface RunDeps {
  readonly generation: GenerationService;
  readonly store: JobStore;
  readonly view: VideoView;
  readonly log: JobLog;
  /** Least time between two progress writes of one job, ms. */
  readonly writeIntervalMs: number;
}

/** Whether a record is still to be moved on (not finished, not cancelled). */
export const isUnfinished = (r: JobRecord): boolean => r.status === 'queued' || r.status === 'in_progress';

export function paramsOf(r: JobRecord): GenerationParams {
  return { ...r.params };
}

/**
 * Starts `record`'s run and returns it at once. With `create` its record is
 * made once admission took it; without, the record is stored already (a job
 * run again after a restart).
 */
export function runJob(deps: RunDeps, record: JobRecord, create: boolean): LiveJob {
  const { generation, store, log } = deps;
  const { caller, id } = record;
  const leave = generation.inFlight.add(new AbortController());
  const g = generation.start({ id, jobId: id, caller, params: paramsOf(record), log });
  const live = new LiveJob(record, g, deps.view);
  const writer = new RecordWriter({
    write: (s) =>
      store.updateJob(caller, id, (r) =>
        isUnfinished(r) ? { ...r, status: s.status, progress: s.progress, startedAt: r.startedAt ?? (s.status === 'in_progress' ? Date.now() : undefined) } : undefined,
      ),
    intervalMs: deps.writeIntervalMs,
    onError: (err) => log.warn({ err, job: id }, `job ${id}: writing its progress failed; the next write tries again`),
  });
  g.subscribe((e) => {
    if (e.type !== 'end') writer.set({ status: jobStatusOf(e.phase), progress: jobProgress(e) }, e.type === 'phase');
  });

  live.recorded = (async () => {
    const accepted = await g.accepted;
    if (!accepted.ok) throw accepted.error;
    if (create) {
      try {
        await store.createJob(record);
      } catch (err) {
        g.cancel(`job ${id} could not be recorded, so it is not run`);
        throw err;
      }
    }
    writer.start({ status: record.status === 'in_progress' ? 'in_progress' : 'queued', progress: record.progress });
  })();
  live.settled = (async () => {
    const outcome = await g.outcome;
    const stored = await live.recorded.then(
      () => true,
      () => false,
    );
    await writer.close();
    if (!stored) live.close();
    else await storeEnd(deps, live, outcome);
  })()
    .catch((err: unknown) => {
      log.error({ err, job: id }, `job ${id}: storing its end failed`);
      live.close();
    })
    .finally(leave);
  return live;
}

async function storeEnd(deps: RunDeps, live: LiveJob, outcome: GenerationOutcome): Promise<void> {
  const { store, log, generation } = deps;
  const { caller, id } = live;
  let error: SpoolError;
  if (outcome.ok) {
    try {
      const done = await storeVideo(store, live.record, outcome.video.mp4);
      if (done) {
        log.info({ job: id, bytes: outcome.video.bytes }, `job ${id} completed`);
        return live.finish(done);
      }
      error = new SpoolError('SPOOL_ERR_CANCELLED', `job ${id} was cancelled or deleted while its video was stored`, { status: 499 });
    } catch (err) {
      error = isSpoolError(err) ? err : new SpoolError('SPOOL_ERR_INTERNAL', 'storing the video failed unexpectedly', { status: 500, cause: err });
    }
  } else {
    error = outcome.error;
  }
  if (error.code === 'SPOOL_ERR_SHUTTING_DOWN' && generation.drain.draining) {
    // Aborted by the shutdown: the record stays queued or in progress, and the next start runs it again.
    log.info({ job: id }, `job ${id} was stopped by the shutdown; it runs again when the coordinator starts`);
    return live.close();
  }
  const failed = (r: JobRecord): JobRecord => ({ ...r, status: 'failed', error: { code: error.code, message: error.message }, completedAt: Date.now(), video: undefined });
  let stored: JobRecord | null = null;
  try {
    stored = await store.updateJob(caller, id, (r) => (isUnfinished(r) ? failed(r) : undefined));
  } catch (err) {
    log.warn({ err, job: id }, `job ${id}: storing its failure (${error.code}) failed`);
  }
  log.info({ job: id, code: error.code }, `job ${id} failed: ${error.message}`);
  live.finish(stored ?? failed({ ...live.record, updatedAt: Date.now() }));
}

/**
 * The video into the object store, then the record `completed`; null (and
 * the video deleted again) when the record was cancelled, finished or
 * deleted meanwhile.
 */
async function storeVideo(store: JobStore, record: JobRecord, mp4: Uint8Array): Promise<JobRecord | null> {
  const { caller, id } = record;
  const video = await store.putVideo(caller, id, mp4);
  const done = await store.updateJob(caller, id, (r) =>
    isUnfinished(r)
      ? { ...r, status: 'completed', progress: PROGRESS_DONE, completedAt: Date.now(), error: undefined, video: { bytes: video.bytes, contentType: video.contentType } }
      : undefined,
  );
  if (done?.status === 'completed' && done.video) return done;
  await store.deleteVideo(caller, id);
  return null;
}
