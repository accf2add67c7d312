/**
 * The coordinator's error registry: failures that start at the HTTP edge.
 * Stage failures come from shared's WIRE_ERRORS; both are documented in
 * coordinator/ERRORS.md, which a test keeps in step with this file.
 */
import { SpoolError, WIRE_ERRORS, type ErrorSpec } from '@spool/shared';

export const COORDINATOR_ERRORS = Object.freeze({
  SPOOL_ERR_VALIDATION: {
    status: 400,
    summary: 'The request body is not valid JSON (or not UTF-8) or breaks the body schema (the message names the field), or the request itself is malformed.',
  },
  SPOOL_ERR_UNAUTHORIZED: { status: 401, summary: 'The Authorization header is missing, is not a Bearer token, or names an unknown token.' },
  SPOOL_ERR_NOT_FOUND: { status: 404, summary: 'No route matches the method and path.' },
  SPOOL_ERR_CLIENT_TIMEOUT: { status: 408, summary: 'The client did not send the whole request in time.' },
  SPOOL_ERR_HEADERS_TOO_LARGE: { status: 431, summary: 'The request headers are larger than the server accepts.' },
  SPOOL_ERR_QUEUE_FULL: { status: 429, summary: 'Every slot is busy and the waiting queue is full; retry after the Retry-After header.' },
  SPOOL_ERR_TOKEN_LIMIT: { status: 429, summary: 'The token already has SPOOL_MAX_PER_TOKEN requests running and queued; retry after the Retry-After header.' },
  SPOOL_ERR_RATE_LIMITED: { status: 429, summary: 'The token sends requests faster than SPOOL_RATE_LIMIT a minute (bursts of SPOOL_RATE_BURST); retry after the Retry-After header.' },
  SPOOL_ERR_SHUTTING_DOWN: { status: 503, summary: 'The coordinator is shutting down and takes no new requests.' },
  SPOOL_ERR_DEADLINE: { status: 504, summary: 'The request did not finish within SPOOL_REQUEST_TIMEOUT_MS (queueing included).' },
  SPOOL_ERR_STORAGE_FULL: {
    status: 507,
    summary: 'The job store has no room for the record or video: its bucket is at SPOOL_JOBS_MAX_MB (videos) or SPOOL_JOBS_RECORDS_MB (records); jobs expire after SPOOL_JOBS_MAX_AGE_H.',
  },
  SPOOL_ERR_STORAGE_UNAVAILABLE: { status: 503, summary: 'The job store (NATS JetStream) cannot be reached, or refused the operation.' },
  SPOOL_ERR_JOB_NOT_FOUND: { status: 404, summary: 'No job with that id for this token: never made, made with another token, deleted, or expired (SPOOL_JOBS_MAX_AGE_H).' },
  SPOOL_ERR_VIDEO_NOT_READY: { status: 404, summary: 'The job has no video to download: it is still queued or in progress, or it failed.' },
  SPOOL_ERR_JOB_INTERRUPTED: {
    status: 503,
    summary: 'The job was running when the coordinator stopped, on the last run SPOOL_JOBS_MAX_ATTEMPTS allows; it is not run again. Only in a job\'s error.',
  },
} satisfies Record<string, ErrorSpec>);

export type CoordinatorErrorCode = keyof typeof COORDINATOR_ERRORS;

/** Every code a client can see, with its status and summary. */
export const ALL_ERRORS: Readonly<Record<string, ErrorSpec>> = Object.freeze({ ...WIRE_ERRORS, ...COORDINATOR_ERRORS });

export function coordinatorError(code: CoordinatorErrorCode, message: string, opts: { cause?: unknown } = {}): SpoolError {
  return new SpoolError(code, message, { status: COORDINATOR_ERRORS[code].status, cause: opts.cause });
}

/**
 * New work refused for now (admission's limits, a drain): a SpoolError that
 * also says in how many seconds to try again. HTTP answers carry that as
 * Retry-After.
 */
export class RefusedError extends SpoolError {
  constructor(
    code: CoordinatorErrorCode,
    message: string,
    /** Whole seconds after which the same work may be accepted. */
    readonly retryAfterS: number,
  ) {
    super(code, message, { status: COORDINATOR_ERRORS[code].status });
  }
}

/** The error a SpoolError's status maps to in the HTTP body's `error` field. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
}

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};
