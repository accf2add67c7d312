export { NatsPipeline, type NatsPipelineOptions } from './nats-pipeline.ts';
export type { EncodedVideo, Pipeline, TextEncoding, VideoRequest } from './pipeline.ts';
export { runGeneration, type GenerationParams, type GenerationResult, type RunLog, type RunnerDeps } from './runner.ts';
