/**
 * The error registry of the wire: every failure that crosses a process
 * boundary has a stable code, an HTTP status and a message. Workers send them
 * in NATS headers; the receiver rebuilds the same typed error.
 */

export interface ErrorSpec {
  readonly status: number;
  readonly summary: string;
}

export const WIRE_ERRORS = Object.freeze({
  SPOOL_ERR_STAGE_UNAVAILABLE: { status: 503, summary: 'No live worker serves a stage the request needs.' },
  SPOOL_ERR_STAGE_TIMEOUT: { status: 504, summary: 'A stage did not answer within its per-call timeout.' },
  SPOOL_ERR_STAGE_FAILED: { status: 502, summary: 'A stage worker failed while handling the call.' },
  SPOOL_ERR_BAD_MESSAGE: { status: 502, summary: 'A message between stages was malformed (wrong tensors, shapes or frame).' },
  SPOOL_ERR_MODEL: { status: 502, summary: 'The model runtime (onnxruntime) failed on a stage.' },
  SPOOL_ERR_ENCODER: { status: 502, summary: 'The video encoder (ffmpeg) failed.' },
  SPOOL_ERR_DRAINING: { status: 503, summary: 'The worker is shutting down and takes no new calls.' },
  SPOOL_ERR_CALL_LOST: {
    status: 503,
    summary: 'A worker stopped answering a call (it died, froze or lost NATS), and no worker took the call again within the retry budget.',
  },
  SPOOL_ERR_BUS_UNAVAILABLE: { status: 503, summary: 'The coordinator is not connected to NATS; it keeps reconnecting.' },
  SPOOL_ERR_CANCELLED: { status: 499, summary: 'The request was cancelled (the client went away or the deadline passed).' },
  SPOOL_ERR_INTERNAL: { status: 500, summary: 'An unexpected internal error.' },
} satisfies Record<string, ErrorSpec>);

export type WireErrorCode = keyof typeof WIRE_ERRORS;

export class SpoolError extends Error {
  override readonly name = 'SpoolError';
  readonly code: string;
  readonly status: number;
  /** The stage the error comes from (`denoise.1`, `vae-decoder`), when known. */
  readonly stage?: string;

  constructor(code: string, message: string, opts: { status?: number; stage?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status ?? (WIRE_ERRORS as Record<string, ErrorSpec>)[code]?.status ?? 500;
    this.stage = opts.stage;
  }
}

export function wireError(code: WireErrorCode, message: string, opts: { stage?: string; cause?: unknown } = {}): SpoolError {
  return new SpoolError(code, message, { ...opts, status: WIRE_ERRORS[code].status });
}

export function isSpoolError(err: unknown): err is SpoolError {
  return err instanceof SpoolError;
}

/** Wraps anything thrown into a SpoolError, keeping one that already is. */
export function asSpoolError(err: unknown, fallback: WireErrorCode = 'SPOOL_ERR_INTERNAL', stage?: string): SpoolError {
  if (err instanceof SpoolError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return wireError(fallback, message, { stage, cause: err });
}

export const ERROR_HEADERS = Object.freeze({
  code: 'Spool-Error-Code',
  message: 'Spool-Error-Message',
  stage: 'Spool-Error-Stage',
  status: 'Spool-Error-Status',
});

/** Header values are one line of printable text. */
function headerSafe(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').slice(0, 1024);
}

export function errorToHeaders(err: SpoolError): Record<string, string> {
  const out: Record<string, string> = {
    [ERROR_HEADERS.code]: err.code,
    [ERROR_HEADERS.message]: headerSafe(err.message),
    [ERROR_HEADERS.status]: String(err.status),
  };
  if (err.stage) out[ERROR_HEADERS.stage] = headerSafe(err.stage);
  return out;
}

/** Rebuilds the typed error from headers, or returns undefined when they carry none. */
export function errorFromHeaders(get: (name: string) => string | undefined): SpoolError | undefined {
  const code = get(ERROR_HEADERS.code);
  if (!code) return undefined;
  const status = Number(get(ERROR_HEADERS.status));
  return new SpoolError(code, get(ERROR_HEADERS.message) ?? code, {
    status: Number.isInteger(status) && status > 0 ? status : undefined,
    stage: get(ERROR_HEADERS.stage) || undefined,
  });
}
