export {
  AdmissionState,
  MAX_RETRY_AFTER_S,
  MIN_RETRY_AFTER_S,
  retryAfterSeconds,
  type Admission,
  type AdmissionLimits,
  type Estimate,
  type Holding,
  type Job,
  type RefusalReason,
} from './admission.ts';
export { AdmissionQueue, AdmissionRefusedError, REFUSAL_CODES, type Outlook, type Slot } from './admission-queue.ts';
export { RateBuckets, type RateLimit } from './rate-limit.ts';
export { PRIOR_MS_PER_STEP_FRAME, ServiceTime, type ServiceModel } from './service-time.ts';
export { forecastWaits, type Forecast, type ForecastInput } from './wait-forecast.ts';
