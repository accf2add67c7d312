export { AdmissionQueue, AdmissionState, QueueFullError, type Admission, type AdmissionLimits, type Slot } from './admission.ts';
export { batchKey, planBatches, type BatchingState, type BatchPlan, type BatchPolicy, type PendingCall } from './step-batching.ts';
