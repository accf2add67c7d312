export {
  type Acceptance,
  type Generation,
  type GenerationEnd,
  type GenerationEvent,
  type GenerationFailure,
  type GenerationListener,
  type GenerationOutcome,
  type GenerationPhase,
  type GenerationProgress,
  type GenerationState,
  type GenerationSuccess,
} from './generation.ts';
export { RequestBoard, type BoardEntry, type RequestOutlook, type RequestState, type RequestSummary } from './request-board.ts';
export { GenerationService, type GenerationLog, type GenerationObserver, type GenerationServiceOptions, type StartRequest } from './service.ts';
