/**
 * The CLI's exit codes, the contract scripts rely on, in one registry:
 * `--help` prints it and a test keeps the README's table in step with it.
 * An HTTP answer maps to a code by its status alone (`exitForStatus`), so
 * every command reports a refusal the same way. Pure.
 */

export const EXIT = {
  OK: 0,
  JOB_FAILED: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  UNAUTHORIZED: 4,
  REFUSED: 5,
  BUSY: 6,
  SERVER_ERROR: 7,
  OUTPUT: 8,
  INTERNAL: 9,
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ExitCodeDoc {
  readonly code: ExitCode;
  readonly meaning: string;
}

export const EXIT_CODES: readonly ExitCodeDoc[] = [
  { code: EXIT.OK, meaning: 'done: the video is written, or the command did what it says' },
  { code: EXIT.JOB_FAILED, meaning: 'the job failed or was cancelled; its error code and message are printed' },
  { code: EXIT.USAGE, meaning: 'usage: an unknown command or flag, a missing or malformed argument (the message says what to fix)' },
  { code: EXIT.UNREACHABLE, meaning: 'the server cannot be reached, or is not ready (503: a stage has no worker, it is shutting down, the job store is down)' },
  { code: EXIT.UNAUTHORIZED, meaning: 'the token was refused (401)' },
  { code: EXIT.REFUSED, meaning: "the request was refused (400, 404 …): the server's message says why" },
  { code: EXIT.BUSY, meaning: 'the server is busy (429: queue full, token limit, rate limit); try again after the Retry-After printed' },
  { code: EXIT.SERVER_ERROR, meaning: 'the server failed (500, 502, 504, 507) or answered something that is not spool' },
  { code: EXIT.OUTPUT, meaning: 'the video could not be written where asked (-o)' },
  { code: EXIT.INTERNAL, meaning: 'the CLI could not run: Node older than 20.6, its packages not installable, or a bug (the stack is printed)' },
  { code: EXIT.INTERRUPTED, meaning: 'interrupted (Ctrl-C); a job being waited for is cancelled first' },
];

/** The exit code of a refused HTTP request (any status that is not 2xx). */
export function exitForStatus(status: number): ExitCode {
  if (status === 401) return EXIT.UNAUTHORIZED;
  if (status === 429) return EXIT.BUSY;
  if (status === 503) return EXIT.UNREACHABLE;
  if (status >= 400 && status < 500) return EXIT.REFUSED;
  return EXIT.SERVER_ERROR;
}

/** The exit codes as `--help` prints them: one line each. */
export function exitCodesText(): string {
  return EXIT_CODES.map((e) => `  ${String(e.code).padStart(3)}  ${e.meaning}`).join('\n');
}
