/**
 * OpenTelemetry for every spool process. The standard OTEL_* variables decide
 * where spans go (OTLP over HTTP, protobuf or JSON per
 * OTEL_EXPORTER_OTLP_PROTOCOL); without an endpoint, spans are still made, so
 * logs carry trace ids and context still crosses every hop, but nothing is
 * exported.
 */
import { context, createContextKey, trace, type Attributes, type Context, type Tracer } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { Env } from './config.ts';

export interface Telemetry {
  readonly serviceName: string;
  readonly exporting: boolean;
  readonly tracer: Tracer;
  shutdown(): Promise<void>;
}

/** A processor that keeps nothing: spans get ids and context, and are dropped. */
const dropSpans = {
  onStart(): void {},
  onEnd(): void {},
  forceFlush: async (): Promise<void> => {},
  shutdown: async (): Promise<void> => {},
};

export function exportConfigured(env: Env): boolean {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || exporter);
}

let active: Telemetry | undefined;

export function startTelemetry(serviceName: string, env: Env = process.env): Telemetry {
  if (active) return active;
  const exporting = exportConfigured(env);
  const sdk = new NodeSDK({
    serviceName,
    instrumentations: [],
    resourceDetectors: [],
    ...(exporting ? {} : { spanProcessors: [dropSpans] }),
  });
  sdk.start();
  let stopped: Promise<void> | undefined;
  active = {
    serviceName,
    exporting,
    tracer: trace.getTracer('spool'),
    shutdown: () => (stopped ??= sdk.shutdown().catch(() => undefined)),
  };
  return active;
}

/** The tracer spool code uses; works before and without startTelemetry (no-op spans). */
export function tracer(): Tracer {
  return active?.tracer ?? trace.getTracer('spool');
}

const COMMON = createContextKey('spool.common-attributes');

/**
 * A context whose spool spans all carry `attributes` (a request's id, its
 * job's): the spans spool code starts under it (runner steps, stage calls,
 * the queue wait) merge them in. Added to what `ctx` carries already, or in
 * its place with `replace` (a merged call serves several requests).
 */
export function withCommonAttributes(ctx: Context, attributes: Attributes, opts: { replace?: boolean } = {}): Context {
  const base = opts.replace ? {} : commonAttributes(ctx);
  return ctx.setValue(COMMON, Object.freeze({ ...base, ...attributes }));
}

/** The attributes spans started under `ctx` carry (see withCommonAttributes); none by default. */
export function commonAttributes(ctx: Context = context.active()): Attributes {
  return (ctx.getValue(COMMON) as Attributes | undefined) ?? {};
}
