/**
 * Every failure leaves as JSON `{error, code, message}` with the status of
 * its registry entry: validation and parser errors as 400, admission
 * refusals as 429 with Retry-After, stage errors as 502/503/504, anything
 * unexpected as a 500 that names no internals.
 */
import { Type } from '@sinclair/typebox';
import { isSpoolError, SpoolError } from '@spool/shared';
import type { FastifyError, FastifyInstance } from 'fastify';
import { coordinatorError, reasonPhrase, type CoordinatorErrorCode } from '../errors.ts';
import { MIN_RETRY_AFTER_S, type RefusalReason } from '../scheduler/admission.ts';
import { AdmissionRefusedError } from '../scheduler/admission-queue.ts';
import { callerOf } from './auth.ts';
import { formatBodyIssues, parserError, type SchemaIssue } from './validation-errors.ts';

export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'HTTP reason phrase' }),
    code: Type.String({ description: 'Stable SPOOL_ERR_* code (see ERRORS.md)' }),
    message: Type.String(),
  },
  { additionalProperties: false },
);

export interface ErrorHandlerOptions {
  /** Field rules of POST /generate, quoted in validation messages. */
  readonly bodyRules: Record<string, string>;
  readonly bodyLimit: number;
}

const REFUSAL_CODES: Readonly<Record<RefusalReason, CoordinatorErrorCode>> = {
  'queue-full': 'SPOOL_ERR_QUEUE_FULL',
  'caller-limit': 'SPOOL_ERR_TOKEN_LIMIT',
  'rate-limited': 'SPOOL_ERR_RATE_LIMITED',
};

export function toSpoolError(err: unknown, ctx: { body: unknown; contentType?: string; opts: ErrorHandlerOptions }): SpoolError {
  if (isSpoolError(err)) return err;
  if (err instanceof AdmissionRefusedError) return coordinatorError(REFUSAL_CODES[err.reason], err.message);
  const fe = err as Partial<FastifyError> & { validation?: SchemaIssue[] };
  if (Array.isArray(fe.validation)) {
    return coordinatorError('SPOOL_ERR_VALIDATION', formatBodyIssues(fe.validation, ctx.body, ctx.opts.bodyRules));
  }
  const parsed = parserError(fe.code, ctx.contentType, ctx.opts.bodyLimit);
  if (parsed) return parsed;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return coordinatorError('SPOOL_ERR_VALIDATION', fe.message ?? 'bad request');
  }
  return new SpoolError('SPOOL_ERR_INTERNAL', 'the coordinator failed unexpectedly; the log has the details', { status: 500, cause: err });
}

export function registerErrorHandling(app: FastifyInstance, opts: ErrorHandlerOptions): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toSpoolError(err, { body: request.body, contentType: request.headers['content-type'], opts });
    // Every 429 is an admission refusal, and every refusal knows when to retry.
    if (e.status === 429) reply.header('Retry-After', String(err instanceof AdmissionRefusedError ? err.retryAfterS : MIN_RETRY_AFTER_S));
    if (e.status === 500) request.log.error({ err, code: e.code }, e.message);
    else if (e.code !== 'SPOOL_ERR_VALIDATION' && e.code !== 'SPOOL_ERR_UNAUTHORIZED') request.log.warn({ code: e.code, stage: e.stage, caller: callerOf(request) }, e.message);
    request.spoolTrace?.span.setAttribute('spool.error_code', e.code);
    return reply
      .code(e.status)
      .type('application/json; charset=utf-8')
      .send({ error: reasonPhrase(e.status), code: e.code, message: e.message });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply.code(404).send({
      error: reasonPhrase(404),
      code: 'SPOOL_ERR_NOT_FOUND',
      message: `no route for ${request.method} ${path}; the routes are GET /health, GET /info, GET /requests and POST /generate`,
    });
  });
}
