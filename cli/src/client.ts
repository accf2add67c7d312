/**
 * The coordinator's HTTP API as the CLI uses it, over Node's fetch. Every
 * failure becomes a `CliError` with its exit code: a server that cannot be
 * reached (3), a refusal with the server's code and message (its status
 * decides the exit code), an answer that is not spool's. The caller's
 * `signal` (Ctrl-C) aborts a request as an `AbortError`, untouched, so the
 * caller tells an interruption from a failure.
 */
import { CliError } from './errors.ts';
import { EXIT, exitForStatus } from './exit-codes.ts';
import type { Server } from './config.ts';

/** How long a request may take to get its answer's headers, unless told otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;

export interface RequestOptions {
  readonly body?: unknown;
  readonly signal?: AbortSignal;
  /** Wait at most this long for the answer's headers, ms; 0 waits for ever (POST /generate answers when the video is made). */
  readonly timeoutMs?: number;
  readonly accept?: string;
}

export class SpoolClient {
  constructor(
    readonly server: Server,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** A request whose answer is JSON, parsed. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, { accept: 'application/json', ...opts });
    const text = await res.text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(EXIT.SERVER_ERROR, `${method} ${this.server.url}${path} answered ${res.status} with something that is not JSON: is ${this.server.url} a spool server?`);
    }
  }

  /** A request that answered 2xx, its body not read yet (a stream, a video). */
  async open(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const res = await this.send(method, path, opts);
    if (res.ok) return res;
    throw await refusal(res, this.server, `${method} ${path}`);
  }

  /** A request that got an answer, whatever its status (GET /health's 503 is an answer too). */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = new AbortController();
    const timeout = timeoutMs > 0 ? setTimeout(() => timer.abort(), timeoutMs) : undefined;
    const signal = opts.signal ? AbortSignal.any([opts.signal, timer.signal]) : timer.signal;
    const headers: Record<string, string> = { accept: opts.accept ?? '*/*', 'user-agent': 'spool-cli' };
    if (this.server.token) headers.authorization = `Bearer ${this.server.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.server.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if (timer.signal.aborted) throw new CliError(EXIT.UNREACHABLE, `no answer from ${this.server.url} within ${Math.round(timeoutMs / 1000)} s (${method} ${path})`);
      throw unreachable(this.server.url, err);
    } finally {
      clearTimeout(timeout);
    }
    return res;
  }
}

/** Why a server could not be reached, from fetch's error and its cause (ECONNREFUSED, ENOTFOUND, …). */
export function unreachable(url: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused (is it running? `npm start` starts one)'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'its host name does not resolve'
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
          ? 'the connection was closed'
          : cause?.message === 'bad port'
            ? `fetch refuses its port (${new URL(url).port}), a well-known port of another protocol`
            : (cause?.message ?? (err as Error)?.message ?? String(err));
  return new CliError(EXIT.UNREACHABLE, `cannot reach the server at ${url}: ${why}`);
}

interface ErrorBody {
  code?: unknown;
  message?: unknown;
  error?: unknown;
}

/** The CliError of a non-2xx answer: the server's code and message, and what to do about a refused token. */
export async function refusal(res: Response, server: Server, what: string): Promise<CliError> {
  const text = await res.text().catch(() => '');
  let body: ErrorBody | undefined;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    body = undefined;
  }
  const retry = Number(res.headers.get('retry-after'));
  const retryAfterS = Number.isInteger(retry) && retry > 0 ? retry : undefined;
  const code = typeof body?.code === 'string' ? body.code : undefined;
  const serverMessage = typeof body?.message === 'string' ? body.message : undefined;
  if (serverMessage === undefined) {
    const type = res.headers.get('content-type') ?? 'no content type';
    return new CliError(exitForStatus(res.status), `${what} answered ${res.status} ${res.statusText} (${type}) without spool's error: is ${server.url} a spool server?`, {
      status: res.status,
      retryAfterS,
    });
  }
  const message = res.status === 401 ? `${serverMessage}; ${tokenHint(server)}` : serverMessage;
  return new CliError(exitForStatus(res.status), message, { code, status: res.status, retryAfterS });
}

/** What to do when the server refuses the token (or wants one), by where the token came from. */
export function tokenHint(server: Server): string {
  switch (server.tokenSource) {
    case 'none':
      return `no token was given: pass --token or set SPOOL_TOKEN, or start the server with \`npm start\`, which keeps its token in ${server.tokenFile}`;
    case 'file':
      return `the token in ${server.tokenFile} was refused: the server runs with other tokens (SPOOL_API_TOKENS); pass one with --token or SPOOL_TOKEN`;
    default:
      return `the token from ${server.tokenSource} was refused: give one of the server's tokens (SPOOL_API_TOKENS, or .spool/token of the repository it runs from)`;
  }
}
