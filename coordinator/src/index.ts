export { build, type BuildOptions } from './app.ts';
export {
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_CONCURRENT,
  DEFAULT_MAX_QUEUE,
  DEFAULT_RATE_BURST,
  DEFAULT_RATE_LIMIT_PER_MIN,
  defaultMaxPerToken,
  loadConfig,
  type CoordinatorConfig,
} from './config.ts';
export { checkCoverage, pipelineDepth, type BlockSpan, type DenoiserCoverage, type ShardStatus } from './coverage.ts';
export { natsDiscovery } from './discovery.ts';
export { ALL_ERRORS, COORDINATOR_ERRORS, coordinatorError, RefusedError, type CoordinatorErrorCode } from './errors.ts';
export {
  GenerationService,
  RequestBoard,
  type Acceptance,
  type BoardEntry,
  type Generation,
  type GenerationEnd,
  type GenerationEvent,
  type GenerationFailure,
  type GenerationListener,
  type GenerationLog,
  type GenerationObserver,
  type GenerationOutcome,
  type GenerationPhase,
  type GenerationProgress,
  type GenerationServiceOptions,
  type GenerationState,
  type GenerationSuccess,
  type RequestOutlook,
  type RequestState,
  type RequestSummary,
  type StartRequest,
} from './generation/index.ts';
export { Drain } from './lifecycle/drain.ts';
export { InFlight } from './lifecycle/in-flight.ts';
export { CachedSystemInfo, sampleSystem, type SystemInfoSource, type SystemUsage } from './http/system-info.ts';
export { GenerationMetrics, HttpMetrics, METRIC_PREFIX, Metrics, MetricsRegistry, StageMetrics, UNMATCHED_ROUTE, type MetricConfig, type MetricsRegistryOptions } from './metrics/index.ts';
export { NatsPipeline, runGeneration } from './pipeline/index.ts';
export type {
  DenoiseSession,
  EncodedVideo,
  GenerationParams,
  GenerationResult,
  NatsPipelineOptions,
  Pipeline,
  RunLog,
  RunnerDeps,
  RunProgress,
  StageCallObserver,
  TextEncoding,
  VideoRequest,
} from './pipeline/index.ts';
export { createSampler, DdimSampler, DpmSampler, Rng, trailingTimesteps, type Sampler } from './sampler/index.ts';
export {
  AdmissionQueue,
  AdmissionRefusedError,
  AdmissionState,
  forecastWaits,
  MAX_RETRY_AFTER_S,
  MIN_RETRY_AFTER_S,
  PRIOR_MS_PER_STEP_FRAME,
  RateBuckets,
  REFUSAL_CODES,
  retryAfterSeconds,
  ServiceTime,
  type Admission,
  type AdmissionLimits,
  type Estimate,
  type Forecast,
  type ForecastInput,
  type Holding,
  type Job,
  type Outlook,
  type RateLimit,
  type RefusalReason,
  type ServiceModel,
  type Slot,
} from './admission/index.ts';
export { batchKey, batchPolicy, planBatches, StepBatcher, type BatchingState, type BatchPlan, type BatchPolicy, type BatchStats, type PendingCall, type StepBatcherOptions } from './batching/index.ts';
export { listen } from './server.ts';
export {
  DiscoveredTopology,
  describeMissing,
  expectedStages,
  snapshotDepth,
  summarize,
  type ExpectedStage,
  type Topology,
  type TopologyOptions,
  type TopologySnapshot,
} from './topology.ts';
