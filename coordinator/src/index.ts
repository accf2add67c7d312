export { build, type BuildOptions } from './app.ts';
export { checkLayout, loadConfig, type CoordinatorConfig } from './config.ts';
export { natsDiscovery } from './discovery.ts';
export { ALL_ERRORS, COORDINATOR_ERRORS, coordinatorError, type CoordinatorErrorCode } from './errors.ts';
export { InFlight } from './http/in-flight.ts';
export { CachedSystemInfo, sampleSystem, type SystemInfoSource, type SystemUsage } from './http/system-info.ts';
export { NatsPipeline, runGeneration } from './pipeline/index.ts';
export type { EncodedVideo, GenerationParams, GenerationResult, NatsPipelineOptions, Pipeline, RunLog, RunnerDeps, TextEncoding, VideoRequest } from './pipeline/index.ts';
export { Rng, Scheduler, trailingTimesteps } from './sampler/index.ts';
export { AdmissionQueue, AdmissionState, QueueFullError, type Admission, type AdmissionLimits, type Slot } from './scheduler/index.ts';
export { listen } from './server.ts';
export {
  DiscoveredTopology,
  describeMissing,
  expectedStages,
  summarize,
  type ExpectedStage,
  type Topology,
  type TopologyOptions,
  type TopologySnapshot,
} from './topology.ts';
