export { batchKey, batchPolicy, planBatches, type BatchingState, type BatchPlan, type BatchPolicy, type PendingCall } from './plan.ts';
export { StepBatcher, type BatchStats } from './step-batcher.ts';
