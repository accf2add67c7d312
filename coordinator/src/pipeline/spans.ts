/**
 * A child span around an async piece of the request runner, recording
 * failures; it carries the request's common attributes (its id) too.
 */
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';
import { commonAttributes, tracer } from '@spool/shared';

export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T> | T): Promise<T> {
  return tracer().startActiveSpan(name, { attributes: { ...commonAttributes(), ...attributes } }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      markFailed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Records a failure on a span: the exception event and an error status. */
export function markFailed(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}
