/**
 * Errors of the OpenAI-shaped routes (`/v1/…`): OpenAI's clients read an
 * error's text from `error.message` (the SDKs make it the exception's
 * message), so there `error` is OpenAI's object `{message, type, code,
 * param}` instead of the reason phrase; `code` and `message` stay at the top
 * as on every other route, so spool's own clients read every error alike.
 */
import type { SpoolError } from '@spool/shared';

/** Whether a route (its pattern) answers errors in OpenAI's shape. */
export function isOpenAiRoute(url: string | undefined): boolean {
  return url?.startsWith('/v1/') ?? false;
}

/** OpenAI's error `type` for a status: a request to change, a rate limit, or the server's fault. */
export function openAiErrorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status === 401) return 'authentication_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}

export interface OpenAiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly code: string; readonly param: null };
  readonly code: string;
  readonly message: string;
}

export function openAiErrorBody(e: SpoolError): OpenAiErrorBody {
  return { error: { message: e.message, type: openAiErrorType(e.status), code: e.code, param: null }, code: e.code, message: e.message };
}
