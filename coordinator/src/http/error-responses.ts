/**
 * The error answers a route declares in its response schemas: one schema per
 * HTTP status, the `{error, code, message}` body with `code` limited to the
 * SPOOL_ERR_* codes the route can give at that status, their meanings (from
 * the registry, so a code that is not in it fails when the route is
 * declared), and the headers that come with them: Retry-After on every 429
 * and on a drain's 503, WWW-Authenticate on 401. The OpenAPI document shows
 * them as they are; fastify serializes the error body with them.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { WireErrorCode } from '@spool/shared';
import { MAX_RETRY_AFTER_S, MIN_RETRY_AFTER_S } from '../admission/admission.ts';
import { ALL_ERRORS, reasonPhrase, type CoordinatorErrorCode } from '../errors.ts';
import { WWW_AUTHENTICATE } from './auth.ts';
import { openAiErrorType } from './openai-errors.ts';

/** Every code a client can see: the wire registry's and the coordinator's. */
export type ErrorCode = WireErrorCode | CoordinatorErrorCode;

/** A response header as the OpenAPI document shows it: its schema and what it means. */
export interface HeaderDoc {
  readonly type: 'string' | 'integer';
  readonly description: string;
  readonly [keyword: string]: unknown;
}

/** Whole seconds to wait before sending the request again. */
const RETRY_AFTER: HeaderDoc = {
  type: 'integer',
  minimum: MIN_RETRY_AFTER_S,
  maximum: MAX_RETRY_AFTER_S,
  description: `Whole seconds after which the request may be sent again (${MIN_RETRY_AFTER_S} to ${MAX_RETRY_AFTER_S}), from the run times of recent requests and the queue ahead.`,
};

const DRAIN_RETRY_AFTER: HeaderDoc = {
  type: 'integer',
  minimum: MIN_RETRY_AFTER_S,
  description: 'Only with SPOOL_ERR_SHUTTING_DOWN: whole seconds after which to try again (against another instance, or this one once restarted).',
};

const WWW_AUTHENTICATE_HEADER: HeaderDoc = { type: 'string', enum: [WWW_AUTHENTICATE], description: 'The scheme the API takes: a Bearer token.' };

/** The extension @fastify/swagger reads as the response's description, apart from the body schema's. */
const RESPONSE_DESCRIPTION = 'x-response-description';

/** The headers an error answer of this status carries, given its codes. */
function errorHeaders(status: number, codes: readonly ErrorCode[]): Record<string, HeaderDoc> | undefined {
  if (status === 429) return { 'Retry-After': RETRY_AFTER };
  if (status === 401) return { 'WWW-Authenticate': WWW_AUTHENTICATE_HEADER };
  if (codes.includes('SPOOL_ERR_SHUTTING_DOWN')) return { 'Retry-After': DRAIN_RETRY_AFTER };
  return undefined;
}

/**
 * Error bodies: spool's `{error, code, message}` (`error` the reason phrase),
 * or on the OpenAI-shaped routes `error` as OpenAI's `{message, type, code,
 * param}` with `code` and `message` also at the top (`openai-errors.ts`).
 */
export type ErrorShape = 'spool' | 'openai';

/** The error body of one status, its `code` limited to `codes`. */
export function errorResponse(status: number, codes: readonly ErrorCode[], shape: ErrorShape = 'spool'): TSchema {
  const lines = codes.map((code) => `- \`${code}\`: ${ALL_ERRORS[code].summary}`);
  const headers = errorHeaders(status, codes);
  const error =
    shape === 'spool'
      ? Type.String({ description: 'The HTTP reason phrase', examples: [reasonPhrase(status)] })
      : Type.Object(
          {
            message: Type.String({ description: 'The same as `message`' }),
            type: Type.String({ description: "OpenAI's error type", examples: [openAiErrorType(status)] }),
            code: Type.String({ enum: [...codes], description: 'The same as `code`' }),
            param: Type.Null(),
          },
          { additionalProperties: false, description: "OpenAI's error object, which OpenAI's clients read" },
        );
  return Type.Object(
    {
      error,
      code: Type.String({ enum: [...codes], description: 'Stable SPOOL_ERR_* code (coordinator/ERRORS.md)' }),
      message: Type.String({ description: 'What went wrong and what to change, naming the field, stage or limit involved' }),
    },
    {
      additionalProperties: false,
      description: shape === 'spool' ? 'An error: `{error, code, message}`' : "An error: `{error: {message, type, code, param}, code, message}`, OpenAI's shape and spool's",
      [RESPONSE_DESCRIPTION]: `${reasonPhrase(status)}:\n\n${lines.join('\n')}`,
      ...(headers ? { headers } : {}),
    },
  );
}

/**
 * The error responses of a route from the codes it can answer with, grouped
 * by their registry status: `{ 429: …, 503: … }`, to spread into its
 * `schema.response`.
 */
export function errorResponses(codes: readonly ErrorCode[], shape: ErrorShape = 'spool'): Record<number, TSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const spec = ALL_ERRORS[code];
    if (!spec) throw new RangeError(`${code} is not in the error registry (coordinator/src/errors.ts or WIRE_ERRORS); add it there first`);
    byStatus.set(spec.status, [...(byStatus.get(spec.status) ?? []), code]);
  }
  const out: Record<number, TSchema> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) out[status] = errorResponse(status, group, shape);
  return out;
}

/** A response schema with more headers documented (the body and its serialization unchanged). */
export function withHeaders<T>(response: T, headers: Record<string, HeaderDoc>): T {
  if (response === null || typeof response !== 'object') return response;
  const r = response as { headers?: Record<string, HeaderDoc> };
  return { ...r, headers: { ...r.headers, ...headers } } as T;
}
