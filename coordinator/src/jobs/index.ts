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
export { contentPath, formatEvent, isFinal, recordEvent, type JobEvent, type JobEventType, type JobPhase } from './job-events.ts';
export { resumeJobs, type ResumeSummary } from './job-recovery.ts';
export { isUnfinished, runJob, type JobLog } from './job-run.ts';
export { DEFAULT_MAX_ATTEMPTS, DEFAULT_WRITE_INTERVAL_MS, JobService, type DeleteResult, type JobServiceOptions, type VideoPage } from './job-service.ts';
export { JOB_COUNT_CACHE_MS, registerJobMetrics } from './jobs-metrics.ts';
export { LiveJob } from './live-job.ts';
export { jobProgress, jobStatusOf, PROGRESS_DECODING, PROGRESS_DONE, PROGRESS_ENCODING } from './progress.ts';
export { RecordWriter, type RecordWriterOptions, type RunningState } from './record-writer.ts';
export { DEFAULT_HEARTBEAT_MS, eventStream } from './sse.ts';
export { formatSeconds, videoObject, VideoObject, type VideoView } from './video-object.ts';
export { modelSize, videoJobParams, videosBodyRules, videosBodySchema, type VideosBody } from './videos-body.ts';
export { CREATE_ERRORS, registerVideosRoutes, type VideosDeps } from './videos-routes.ts';
