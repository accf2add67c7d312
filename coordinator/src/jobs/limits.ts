/**
 * How much the job store keeps and for how long. Both buckets are JetStream
 * streams with these limits: a record or video older than `maxAgeMs` (since
 * its last write) is removed by the server, and a write that would pass a
 * bucket's byte limit is refused (discard-new), never made room for by
 * dropping a job that is still wanted.
 */
import { readInt, readNumber, type Env } from '@spool/shared';

export interface JobStoreLimits {
  /** How long a record and a video live after their last write (SPOOL_JOBS_MAX_AGE_H). */
  readonly maxAgeMs: number;
  /** The videos bucket's size limit (SPOOL_JOBS_MAX_MB). */
  readonly videosMaxBytes: number;
  /** The records bucket's size limit (SPOOL_JOBS_RECORDS_MB). */
  readonly recordsMaxBytes: number;
}

const MB = 1024 * 1024;

export const DEFAULT_JOBS_MAX_AGE_H = 24;
/**
 * Room for a few hundred short videos: a 49-frame 720×480 H.264 clip is about
 * 2–3 MB, so 1 GiB holds 350–500 of them; the small default model's are far smaller.
 */
export const DEFAULT_JOBS_MAX_MB = 1024;
/** A record is under 10 KB (a 2,000-character prompt and a few numbers): 64 MiB holds thousands. */
export const DEFAULT_JOBS_RECORDS_MB = 64;

export function readJobStoreLimits(env: Env): JobStoreLimits {
  const hours = readNumber(env, 'SPOOL_JOBS_MAX_AGE_H', DEFAULT_JOBS_MAX_AGE_H, { min: 0.01, max: 24 * 366 });
  return {
    maxAgeMs: Math.round(hours * 3_600_000),
    videosMaxBytes: readInt(env, 'SPOOL_JOBS_MAX_MB', DEFAULT_JOBS_MAX_MB, { min: 1, max: 1_048_576 }) * MB,
    recordsMaxBytes: readInt(env, 'SPOOL_JOBS_RECORDS_MB', DEFAULT_JOBS_RECORDS_MB, { min: 1, max: 65_536 }) * MB,
  };
}
