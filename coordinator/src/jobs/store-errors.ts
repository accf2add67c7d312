/**
 * The job store's failures as typed errors: a bucket at its limit is
 * `SPOOL_ERR_STORAGE_FULL`; NATS down, JetStream off, or the bus refusing
 * the coordinator a subject is `SPOOL_ERR_STORAGE_UNAVAILABLE`, with a
 * message that says which and what to do.
 */
import { errors as natsErrors } from '@nats-io/nats-core';
import { JetStreamApiError } from '@nats-io/jetstream';
import { isSpoolError, type SpoolError } from '@spool/shared';
import { coordinatorError } from '../errors.ts';

/** JetStream API error codes the store tells apart (nats-server's `err_code`). */
export const JS_CODES = Object.freeze({
  maximumBytesExceeded: 10077,
  insufficientResources: 10047,
  wrongLastSequence: 10071,
  streamNotFound: 10059,
  noMessageFound: 10037,
});

/** `what` says what was being done: "storing the video of video_…", "opening the bucket spool-jobs-m". */
export function storeError(err: unknown, what: string): SpoolError {
  if (isSpoolError(err)) return err;
  const cause = { cause: err };
  if (err instanceof JetStreamApiError) {
    if (err.code === JS_CODES.maximumBytesExceeded) {
      return coordinatorError('SPOOL_ERR_STORAGE_FULL', `${what}: the bucket is full (its byte limit is reached); stored jobs expire after SPOOL_JOBS_MAX_AGE_H, or raise SPOOL_JOBS_MAX_MB / SPOOL_JOBS_RECORDS_MB`, cause);
    }
    if (err.code === JS_CODES.insufficientResources) {
      return coordinatorError(
        'SPOOL_ERR_STORAGE_FULL',
        `${what}: the NATS server's JetStream has no room for it; its max_file_store must hold SPOOL_JOBS_MAX_MB + SPOOL_JOBS_RECORDS_MB (raise max_file_store in the server's jetstream block, or lower those)`,
        cause,
      );
    }
    return coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `${what}: JetStream refused it (${err.message}, code ${err.code})`, cause);
  }
  // The client's JetStreamNotEnabled (not exported by name): no JetStream answered the API.
  if (err instanceof Error && err.name === 'JetStreamNotEnabled') {
    return coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `${what}: JetStream is not enabled on the NATS server; enable it (a jetstream { store_dir … } block) to keep jobs`, cause);
  }
  if (err instanceof natsErrors.PermissionViolationError) {
    return coordinatorError(
      'SPOOL_ERR_STORAGE_UNAVAILABLE',
      `${what}: the bus does not let this identity ${err.operation === 'publish' ? 'publish to' : 'subscribe to'} ${err.subject}; the server's authorization must be made for this model (npm run credentials)`,
      cause,
    );
  }
  if (err instanceof natsErrors.ClosedConnectionError || err instanceof natsErrors.DrainingConnectionError) {
    return coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `${what}: the connection to NATS is closed`, cause);
  }
  if (err instanceof natsErrors.TimeoutError || (err instanceof Error && err.cause instanceof natsErrors.TimeoutError)) {
    return coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `${what}: JetStream did not answer in time (is NATS reachable?)`, cause);
  }
  const message = err instanceof Error ? err.message : String(err);
  return coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `${what}: ${message}`, cause);
}
