/**
 * The coordinator's start of its jobs: open the job store (making its
 * buckets when missing) and run again the jobs a stopped coordinator left
 * unfinished. NATS or JetStream not reachable yet does not stop the
 * coordinator: POST /generate serves meanwhile, /v1/videos answers 503
 * saying why, and the store is tried again every `retryMs` until it opens or
 * `signal` aborts (the coordinator stops).
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { isSpoolError } from '@spool/shared';
import type { JobService } from './job-service.ts';
import type { JobLog } from './job-run.ts';
import type { JobStoreLimits } from './limits.ts';
import { JobStore } from './store.ts';

export interface OpenJobsOptions {
  readonly nc: NatsConnection;
  readonly jobs: JobService;
  readonly model: string;
  readonly limits: JobStoreLimits;
  readonly log: JobLog;
  readonly signal: AbortSignal;
  readonly retryMs?: number;
}

export async function openJobs(o: OpenJobsOptions): Promise<void> {
  const retryMs = o.retryMs ?? 5_000;
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, retryMs).unref());
  const why = (err: unknown): string => (isSpoolError(err) || err instanceof Error ? err.message : String(err));
  for (let tries = 1; !o.signal.aborted; tries++) {
    try {
      o.jobs.useStore(await JobStore.open(o.nc, { model: o.model, limits: o.limits, log: o.log }));
      o.log.info({ buckets: o.jobs.store?.buckets }, 'job store open');
      break;
    } catch (err) {
      o.jobs.storeUnavailable(`the job store cannot be opened: ${why(err)}`);
      // Said once at warn, then quietly: a NATS without JetStream stays so.
      o.log[tries === 1 ? 'warn' : 'debug']({ err }, `the job store cannot be opened (${why(err)}); /v1/videos answers 503 until it can; trying again every ${retryMs / 1000} s`);
      await pause();
    }
  }
  while (!o.signal.aborted) {
    try {
      const done = await o.jobs.resume();
      if (done.resumed + done.failed > 0) o.log.info({ ...done }, `jobs found unfinished at start: ${done.resumed} run again, ${done.failed} failed (out of attempts)`);
      return;
    } catch (err) {
      o.log.warn({ err }, `running again the unfinished jobs failed (${why(err)}); trying again in ${retryMs / 1000} s`);
      await pause();
    }
  }
}
