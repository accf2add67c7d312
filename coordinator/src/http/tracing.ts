/**
 * The HTTP request is the root span of its trace (or the child of a W3C
 * `traceparent` the client sent). A route hands its context
 * (`request.spoolTrace.ctx`) to the generation service, which runs inside it,
 * so every stage call below joins the same trace.
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import { tracer } from '@spool/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    spoolTrace: { span: Span; ctx: Context; ended: boolean } | null;
  }
}

export function registerTracing(app: FastifyInstance): void {
  app.decorateRequest('spoolTrace', null);

  app.addHook('onRequest', (request, reply, done) => {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const route = request.routeOptions.url;
    const span = tracer().startSpan(
      route ? `${request.method} ${route}` : request.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': request.url.split('?')[0],
          ...(route ? { 'http.route': route } : {}),
          'spool.request_id': request.id,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    request.spoolTrace = { span, ctx, ended: false };
    // Lets a client find its request in Jaeger.
    const { traceId } = span.spanContext();
    if (trace.isSpanContextValid(span.spanContext())) reply.header('X-Spool-Trace-Id', traceId);
    context.with(ctx, done);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    endSpan(request, status, status >= 500 ? `HTTP ${status}` : undefined);
    done();
  });

  app.addHook('onRequestAbort', (request, done) => {
    request.spoolTrace?.span.setAttribute('http.request.aborted', true);
    endSpan(request, undefined, 'the client closed the connection');
    done();
  });
}

function endSpan(request: FastifyRequest, status: number | undefined, error: string | undefined): void {
  const t = request.spoolTrace;
  if (!t || t.ended) return;
  t.ended = true;
  if (status !== undefined) t.span.setAttribute('http.response.status_code', status);
  if (error) t.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  t.span.end();
}

