/** Calling a stage: one traced request over NATS, frames in and out, typed errors. */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { NatsConnection } from '@nats-io/nats-core';
import { decodeFrame, encodeFrame, type WireMessage } from '../codec.ts';
import { errorFromHeaders, wireError } from '../errors.ts';
import { tracer } from '../telemetry.ts';
import { injectContext } from './carrier.ts';
import { fromNatsError } from './errors-map.ts';
import { prepareFrame, receiveFrame } from './transport.ts';

export interface CallOptions {
  /** Stage label for errors and spans: `text-encoder`, `denoise.0`. */
  readonly stage: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly spanName?: string;
  readonly attributes?: Record<string, string | number | boolean>;
}

export async function callStage(nc: NatsConnection, subject: string, message: WireMessage, opts: CallOptions): Promise<WireMessage> {
  const attributes = { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'spool.stage': opts.stage, ...opts.attributes };
  return tracer().startActiveSpan(opts.spanName ?? `call ${opts.stage}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      opts.signal?.throwIfAborted();
      const hdrs = injectContext();
      const payload = prepareFrame(nc, encodeFrame(message), hdrs, opts.timeoutMs);
      const reply = await abortable(nc.request(subject, payload, { timeout: opts.timeoutMs, headers: hdrs }), opts.signal);
      const failure = errorFromHeaders((k) => (reply.headers?.has(k) ? reply.headers.get(k) : undefined));
      if (failure) throw failure;
      return decodeFrame(await receiveFrame(nc, reply, opts.timeoutMs));
    } catch (err) {
      const e = opts.signal?.aborted
        ? wireError('SPOOL_ERR_CANCELLED', `cancelled while waiting for ${opts.stage}`, { stage: opts.stage })
        : fromNatsError(err, opts.stage, subject, opts.timeoutMs);
      span.recordException(e);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.code}: ${e.message}` });
      throw e;
    } finally {
      span.end();
    }
  });
}

function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
