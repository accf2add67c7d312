export { NatsPipeline, type NatsPipelineOptions, type StageCallObserver } from './nats-pipeline.ts';
export type { DenoiseSession, EncodedVideo, Pipeline, TextEncoding, VideoRequest } from './pipeline.ts';
export { PROGRESS_LOG_MIN_STEPS, runGeneration, type GenerationParams, type GenerationResult, type RunLog, type RunnerDeps, type RunProgress } from './runner.ts';
