/**
 * `spool_jobs{status}`: the jobs the store holds, every caller's, by status
 * (`queued`, `in_progress`, `completed`, `failed`; a cancelled job is
 * failed). Counting reads every record, so a count is kept for `cacheMs`
 * and scrapes in between reuse it; while the store is not open (or does not
 * answer) the gauge has no samples rather than wrong ones.
 */
import type { MetricsRegistry } from '../metrics/registry.ts';
import type { JobService } from './job-service.ts';
import { JOB_STATUSES, type JobStatus } from './record.ts';

export const JOB_COUNT_CACHE_MS = 10_000;

export function registerJobMetrics(metrics: MetricsRegistry, jobs: JobService, cacheMs = JOB_COUNT_CACHE_MS): void {
  let cached: { at: number; counts: Record<JobStatus, number> } | undefined;
  metrics.gauge({
    name: 'spool_jobs',
    help: `Jobs in the job store by status (queued, in_progress, completed, failed), every token's; counted at most every ${cacheMs / 1000} s`,
    labelNames: ['status'],
    async collect() {
      this.reset();
      if (!jobs.store) return;
      const now = performance.now();
      if (!cached || now - cached.at >= cacheMs) {
        try {
          cached = { at: now, counts: await jobs.countByStatus() };
        } catch {
          cached = undefined;
          return;
        }
      }
      for (const status of JOB_STATUSES) this.set({ status }, cached.counts[status]);
    },
  });
}
