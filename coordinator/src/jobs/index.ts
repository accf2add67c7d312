export { MAX_RECORD_BYTES, type StoreLog } from './buckets.ts';
export { DEFAULT_JOBS_MAX_AGE_H, DEFAULT_JOBS_MAX_MB, DEFAULT_JOBS_RECORDS_MB, readJobStoreLimits, type JobStoreLimits } from './limits.ts';
export {
  checkRecord,
  encodeJobRecord,
  isCaller,
  isJobId,
  JOB_RECORD_VERSION,
  JOB_STATUSES,
  jobIdTime,
  newJobId,
  parseJobRecord,
  recordKey,
  type JobFailure,
  type JobParams,
  type JobRecord,
  type JobStatus,
  type JobVideo,
  type ParsedRecord,
} from './record.ts';
export { DEFAULT_PAGE_SIZE, JobStore, MAX_PAGE_SIZE, type JobPage, type JobStoreOptions } from './store.ts';
export { storeError } from './store-errors.ts';
export { VideoBucket } from './video-bucket.ts';
export { expiryMargin, VIDEO_CHUNK_BYTES, VIDEO_READ_IDLE_MS, type StoredVideo, type VideoRead } from './videos.ts';
export { formatEvent, type JobEvent, type JobEventType, type JobPhase } from './job-events.ts';
export { type ResumeSummary } from './job-recovery.ts';
export { type JobLog } from './job-run.ts';
export { DEFAULT_MAX_ATTEMPTS, DEFAULT_WRITE_INTERVAL_MS, JobService, type DeleteResult, type JobServiceOptions, type VideoPage } from './job-service.ts';
export { openJobs, type OpenJobsOptions } from './open-jobs.ts';
export { jobProgress } from './progress.ts';
export { type VideoObject } from './video-object.ts';
