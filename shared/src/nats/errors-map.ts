/** Maps what the NATS client throws to spool's typed wire errors. */
import { NoRespondersError, PermissionViolationError, RequestError, TimeoutError } from '@nats-io/nats-core';
import { FrameError } from '../codec.ts';
import { SpoolError, wireError } from '../errors.ts';

export function fromNatsError(err: unknown, stage: string, subject: string, timeoutMs: number): SpoolError {
  if (err instanceof SpoolError) return err;
  const cause = err instanceof RequestError && err.cause ? err.cause : err;
  if (cause instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
    return wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `no live worker serves ${stage} (subject ${subject})`, { stage, cause: err });
  }
  if (cause instanceof TimeoutError) {
    return wireError('SPOOL_ERR_STAGE_TIMEOUT', `${stage} did not answer within ${timeoutMs} ms`, { stage, cause: err });
  }
  if (cause instanceof PermissionViolationError) {
    return wireError('SPOOL_ERR_STAGE_FAILED', `${stage}: the bus refused it (${cause.message}); this identity's credentials do not allow that subject`, {
      stage,
      cause: err,
    });
  }
  if (cause instanceof FrameError) {
    return wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: ${cause.message}`, { stage, cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return wireError('SPOOL_ERR_STAGE_FAILED', `${stage}: ${message}`, { stage, cause: err });
}
