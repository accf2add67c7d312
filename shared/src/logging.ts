/** pino loggers whose every line carries the active trace and span ids. */
import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';
import type { Env } from './config.ts';

export type { Logger };

export function createLogger(name: string, env: Env = process.env): Logger {
  return pino({
    name,
    level: env.SPOOL_LOG_LEVEL?.trim() || 'info',
    base: { pid: process.pid },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
  });
}
