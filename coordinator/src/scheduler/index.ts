export { AdmissionQueue, AdmissionState, QueueFullError, type Admission, type AdmissionLimits, type Slot } from './admission.ts';
