export { batchKey, batchPolicy, planBatches, type BatchingState, type BatchPlan, type BatchPolicy, type PendingCall } from './plan.ts';
export { StepBatcher, type BatchStats, type StepBatcherOptions } from './step-batcher.ts';
