/**
 * Every failure leaves as JSON `{error, code, message}` with the status of
 * its registry entry: validation and parser errors as 400, admission
 * refusals as 429 with Retry-After, stage errors as 502/503/504, anything
 * unexpected as a 500 that names no internals. That holds for what fastify's
 * router refuses before any route runs (a URL that is not valid
 * percent-encoding) and for what Node's HTTP parser refuses before fastify
 * sees a request (broken framing, oversized headers).
 */
import type { Duplex } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { isSpoolError, SpoolError } from '@spool/shared';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { coordinatorError, reasonPhrase, RefusedError } from '../errors.ts';
import { MIN_RETRY_AFTER_S } from '../admission/admission.ts';
import { callerOf } from './auth.ts';
import { isOpenAiRoute, openAiErrorBody } from './openai-errors.ts';
import { formatBodyIssues, formatQueryIssues, parserError, type SchemaIssue } from './validation-errors.ts';

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

/** A route's own field rules for validation messages (`config: { bodyRules }`), when its body is not POST /generate's. */
export interface RouteRules {
  readonly bodyRules?: Record<string, string>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What each body field accepts, in words, quoted by validation messages; POST /generate's when absent. */
    bodyRules?: Record<string, string>;
  }
}

export function toSpoolError(err: unknown, ctx: { body: unknown; query?: unknown; contentType?: string; opts: ErrorHandlerOptions }): SpoolError {
  // Stage errors, admission refusals, the deadline, a drain: already typed.
  if (isSpoolError(err)) return err;
  const fe = err as Partial<FastifyError> & { validation?: SchemaIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    if (fe.validationContext === 'querystring') return coordinatorError('SPOOL_ERR_VALIDATION', formatQueryIssues(fe.validation, ctx.query));
    return coordinatorError('SPOOL_ERR_VALIDATION', formatBodyIssues(fe.validation, ctx.body, ctx.opts.bodyRules));
  }
  const parsed = parserError(fe.code, ctx.contentType, ctx.opts.bodyLimit);
  if (parsed) return parsed;
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return coordinatorError('SPOOL_ERR_VALIDATION', fe.message ?? 'bad request');
  }
  return new SpoolError('SPOOL_ERR_INTERNAL', 'the coordinator failed unexpectedly; the log has the details', { status: 500, cause: err });
}

/** The JSON body of an error answer. */
export function errorBody(e: SpoolError): { error: string; code: string; message: string } {
  return { error: reasonPhrase(e.status), code: e.code, message: e.message };
}

/** A client-supplied path, cut short enough to repeat in a message. */
const shortPath = (path: string): string => (path.length > MAX_SHOWN_PATH ? `${path.slice(0, MAX_SHOWN_PATH)}…` : path);
const MAX_SHOWN_PATH = 100;

/**
 * fastify's `frameworkErrors` option: errors its router raises before a route
 * (and so before the error handler) is chosen.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.raw.url?.split('?')[0] ?? '';
  const e =
    err.code === 'FST_ERR_BAD_URL'
      ? coordinatorError('SPOOL_ERR_VALIDATION', `the URL path ${JSON.stringify(shortPath(path))} is not valid percent-encoding`)
      : // No body has been read yet, so no body rules or limit come into it.
        toSpoolError(err, { body: undefined, opts: { bodyRules: {}, bodyLimit: 0 } });
  if (e.status === 500) request.log.error({ err, code: e.code }, e.message);
  void reply.code(e.status).type('application/json; charset=utf-8').send(errorBody(e));
}

/** What a request Node's HTTP parser refused becomes: a registry error naming the problem. */
export function clientErrorOf(err: Error & { code?: string; reason?: unknown }): SpoolError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return coordinatorError('SPOOL_ERR_HEADERS_TOO_LARGE', 'the request headers are larger than the server accepts (16 KiB in all by default)');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return coordinatorError('SPOOL_ERR_CLIENT_TIMEOUT', 'the request was not received in full in time');
    default: {
      const reason = typeof err.reason === 'string' && err.reason ? err.reason : err.message;
      return coordinatorError('SPOOL_ERR_VALIDATION', `the request is not valid HTTP/1.1: ${reason}${err.code ? ` (${err.code})` : ''}`);
    }
  }
}

/**
 * fastify's `clientErrorHandler` option (bound to the instance): answers a
 * request Node's parser refused with the same JSON as every other error,
 * then closes the connection, as Node does.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has no one to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const e = clientErrorOf(err);
  this.log.debug({ code: e.code, cause: err.code }, e.message);
  const body = JSON.stringify(errorBody(e));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${e.status} ${reasonPhrase(e.status)}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** `routes` names the routes a 404 answer lists (`describeRoutes`); it is asked at each 404, so it sees every route declared. */
export function registerErrorHandling(app: FastifyInstance, opts: ErrorHandlerOptions, routes: () => string): void {
  app.setErrorHandler((err, request, reply) => {
    const bodyRules = (request.routeOptions.config as RouteRules | undefined)?.bodyRules ?? opts.bodyRules;
    const e = toSpoolError(err, { body: request.body, query: request.query, contentType: request.headers['content-type'], opts: { ...opts, bodyRules } });
    // A refusal (admission's 429s, a drain's 503) knows when to retry; every 429 says so.
    if (e instanceof RefusedError) reply.header('Retry-After', String(e.retryAfterS));
    else if (e.status === 429) reply.header('Retry-After', String(MIN_RETRY_AFTER_S));
    if (e.status === 500) request.log.error({ err, code: e.code }, e.message);
    else if (e.code !== 'SPOOL_ERR_VALIDATION' && e.code !== 'SPOOL_ERR_UNAUTHORIZED') request.log.warn({ code: e.code, stage: e.stage, caller: callerOf(request) }, e.message);
    request.spoolTrace?.span.setAttribute('spool.error_code', e.code);
    return reply.code(e.status).type('application/json; charset=utf-8').send(isOpenAiRoute(request.routeOptions.url) ? openAiErrorBody(e) : errorBody(e));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    return reply.code(404).send({
      error: reasonPhrase(404),
      code: 'SPOOL_ERR_NOT_FOUND',
      message: `no route for ${request.method} ${shortPath(path)}; the routes are ${routes()}`,
    });
  });
}
