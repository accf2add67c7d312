/**
 * The one error type of the CLI: what went wrong, said so that the reader
 * knows what to do, and the exit code it ends the command with. Server
 * refusals keep the server's `SPOOL_ERR_*` code and message; a job that
 * failed keeps its own.
 */
import { EXIT, type ExitCode } from './exit-codes.ts';

export interface CliErrorDetails {
  /** The server's error code (`SPOOL_ERR_*`), when the server gave one. */
  readonly code?: string;
  /** The HTTP status of a refused request. */
  readonly status?: number;
  /** Seconds the server asked to wait before trying again (429, 503). */
  readonly retryAfterS?: number;
  /** The job's state at the end (a failed job), for `--json`. */
  readonly video?: unknown;
}

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exit: ExitCode,
    message: string,
    readonly details: CliErrorDetails = {},
  ) {
    super(message);
  }
}

/** A command line that cannot be run as written: exit 2, with what to fix. */
export function usageError(message: string): CliError {
  return new CliError(EXIT.USAGE, message);
}

export const isCliError = (err: unknown): err is CliError => err instanceof CliError;

/** The line printed on stderr for a failure: `spool: <message>` and, with a code, the code first. */
export function describeFailure(err: CliError): string {
  const code = err.details.code ? `${err.details.code}: ` : '';
  const retry = err.details.retryAfterS !== undefined ? ` (try again in ${err.details.retryAfterS} s)` : '';
  return `spool: ${code}${err.message}${retry}`;
}
