/**
 * At start, the jobs a stopped coordinator left `queued` or `in_progress`
 * run again from their records: the same parameters and seed, so the same
 * video. A job that was running (`in_progress`) counts one more attempt in
 * its record; one that has had `maxAttempts` runs is not run again but
 * failed with SPOOL_ERR_JOB_INTERRUPTED, so that a job which brings the
 * coordinator down every time cannot do so for ever. A job that was still
 * waiting for a slot (`queued`) had not started that run: it keeps its count.
 *
 * Jobs go to the generation service oldest first, like new requests, so
 * admission's limits hold for them too: a job refused (queue full, the
 * token's share taken, its rate, a stage not live yet) waits and is sent
 * again, its attempt counted once. It all stops when the coordinator drains
 * (the jobs left stay stored for the next start) or `signal` aborts.
 */
import { isSpoolError } from '@spool/shared';
import { RefusedError } from '../errors.ts';
import { isUnfinished, type JobLog } from './job-run.ts';
import type { LiveJob } from './live-job.ts';
import type { JobRecord } from './record.ts';
import type { JobStore } from './store.ts';

export interface ResumeDeps {
  readonly store: JobStore;
  readonly maxAttempts: number;
  /** Wait before sending refused jobs again when no refusal said how long, ms. */
  readonly retryMs: number;
  readonly log: JobLog;
  readonly signal: AbortSignal;
  readonly draining: () => boolean;
  /** Whether a job runs in this coordinator already. */
  readonly isLive: (id: string) => boolean;
  /** Starts a stored job's run. */
  readonly run: (record: JobRecord) => LiveJob;
}

export interface ResumeSummary {
  /** Jobs run again (admission took them). */
  readonly resumed: number;
  /** Jobs failed with SPOOL_ERR_JOB_INTERRUPTED, out of attempts. */
  readonly failed: number;
  /** Jobs left stored for the next start, because the coordinator began to stop. */
  readonly left: number;
}

export async function resumeJobs(d: ResumeDeps): Promise<ResumeSummary> {
  const { store, log } = d;
  const stopped = (): boolean => d.signal.aborted || d.draining();
  const found = (await store.jobsWithStatus(['queued', 'in_progress'])).filter((r) => !d.isLive(r.id));
  if (found.length > 0) log.info({ jobs: found.length }, `${found.length} job(s) were queued or running when the coordinator stopped; running them again`);
  let resumed = 0;
  let failed = 0;
  let waiting: JobRecord[] = [];
  for (const r of found) {
    const attempts = r.attempts ?? 1;
    if (r.status === 'queued' || attempts < d.maxAttempts) {
      waiting.push(r);
      continue;
    }
    const out = await store.updateJob(r.caller, r.id, (cur) => (isUnfinished(cur) ? interrupted(cur, d.maxAttempts) : undefined));
    if (out?.status === 'failed') {
      failed++;
      log.warn({ job: r.id, attempts }, `job ${r.id} was interrupted ${attempts} time(s), SPOOL_JOBS_MAX_ATTEMPTS; it is failed, not run again`);
    }
  }
  // Each job's attempt is counted once, however often admission refuses it.
  const counted = new Set<string>();
  while (waiting.length > 0 && !stopped()) {
    const refused: JobRecord[] = [];
    let waitMs = d.retryMs;
    for (const r of waiting) {
      if (stopped()) {
        refused.push(r);
        continue;
      }
      try {
        const next = await store.updateJob(r.caller, r.id, (cur) =>
          !isUnfinished(cur) || counted.has(r.id) || cur.status === 'queued'
            ? undefined
            : { ...cur, status: 'queued', progress: 0, startedAt: undefined, attempts: (cur.attempts ?? 1) + 1 },
        );
        // Cancelled, finished or deleted meanwhile, or already running here.
        if (!next || !isUnfinished(next) || d.isLive(r.id)) continue;
        counted.add(r.id);
        await d.run(next).recorded;
        resumed++;
        log.info({ job: r.id, attempts: next.attempts }, `job ${r.id} runs again (attempt ${next.attempts ?? 1} of ${d.maxAttempts})`);
      } catch (err) {
        refused.push(r);
        if (err instanceof RefusedError) waitMs = Math.min(waitMs, err.retryAfterS * 1000);
        log.debug({ job: r.id, code: isSpoolError(err) ? err.code : undefined, err }, `job ${r.id} could not start yet; trying again`);
      }
    }
    waiting = refused;
    if (waiting.length > 0 && !stopped()) await sleep(waitMs, d.signal);
  }
  if (waiting.length > 0) log.info({ jobs: waiting.length }, `${waiting.length} job(s) left for the next start`);
  return { resumed, failed, left: waiting.length };
}

function interrupted(r: JobRecord, maxAttempts: number): JobRecord {
  const attempts = r.attempts ?? 1;
  return {
    ...r,
    status: 'failed',
    error: {
      code: 'SPOOL_ERR_JOB_INTERRUPTED',
      message: `job ${r.id} was interrupted by a coordinator stop ${attempts} time(s), as many as SPOOL_JOBS_MAX_ATTEMPTS (${maxAttempts}) allows; it is not run again`,
    },
    completedAt: Date.now(),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
