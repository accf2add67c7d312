/** A child span around an async piece of the request runner, recording failures. */
import { SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { tracer } from '@spool/shared';

export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T> | T): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}
