/**
 * Serving a stage: a NATS micro service whose endpoints join one queue group
 * per subject. The binding extracts the trace context, beats to the caller
 * while it holds the call, pulls chunked frames, decodes, calls the handler,
 * then replies or forwards to the next subject (carrying the caller's reply
 * subject), and turns any failure into a typed error in headers. Each call is
 * one SERVER span with the worker's static facts (`attributes`, from its role)
 * and the call's own: rows, tensor and frame bytes in and out, the wait for a
 * free handler, the subject it forwarded to. Handlers see
 * messages and tensors, never NATS or tracing; the subject a handler forwards
 * to is its own choice from the deployment's layout, never a message's.
 */
import { context, SpanKind, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import { Empty, headers as natsHeaders, type NatsConnection } from '@nats-io/nats-core';
import { Svcm, type Service, type ServiceMsg } from '@nats-io/services';
import type { ChunkLimits } from '../chunking.ts';
import { decodeFrame, encodeFrame, FrameError, type WireMessage } from '../codec.ts';
import { batchRows, tensorBytes } from '../message-facts.ts';
import { asSpoolError, errorToHeaders, SpoolError, wireError } from '../errors.ts';
import type { Logger } from '../logging.ts';
import { queueGroup } from '../subjects.ts';
import { tracer } from '../telemetry.ts';
import { extractContext, injectContext } from './carrier.ts';
import { DEFAULT_HEARTBEAT_MS, startHeartbeats } from './heartbeat.ts';
import { prepareFrame, receiveFrame } from './transport.ts';

export interface StageReply extends WireMessage {
  /** Send the result on to this subject instead of replying; the caller's reply subject travels along. */
  readonly forwardTo?: string;
}

export type StageHandler = (message: WireMessage) => Promise<StageReply>;

export interface StageEndpoint {
  readonly name: string;
  readonly subject: string;
  readonly handler: StageHandler;
}

export interface ServeOptions {
  readonly nc: NatsConnection;
  /** Service name in discovery, e.g. `spool-denoise-1`. */
  readonly serviceName: string;
  readonly version: string;
  readonly description: string;
  /** Label used in spans and errors, e.g. `denoise.1`. */
  readonly stage: string;
  readonly metadata: Record<string, string>;
  /**
   * Attributes of the span of every call this worker serves: its static facts
   * (role, shard, block range, device, model), known from its role at start,
   * never read from a message.
   */
  readonly attributes?: Attributes;
  readonly endpoints: readonly StageEndpoint[];
  /** Bound on chunk pulls and forwards. */
  readonly timeoutMs: number;
  /** Calls handled at once; more wait in order. */
  readonly concurrency: number;
  /** Interval of the heartbeats sent to a caller while a call is held. */
  readonly heartbeatMs?: number;
  /** Who sends this stage its frames, named in errors when pulling a frame's chunks fails. */
  readonly upstream?: string;
  /** The largest request frame accepted (`readFrameLimits`, SPOOL_MAX_FRAME_MB); the default limits when absent. */
  readonly frameLimits?: ChunkLimits;
  /**
   * The inbox prefix of the identity that sends this stage its frames
   * (`inboxPrefix(model, upstreamIdentity(role, shard))`): chunks are pulled
   * from its chunk subjects only. Absent: from any chunk subject.
   */
  readonly upstreamInbox?: string;
  readonly log: Logger;
}

export interface StageServer {
  readonly service: Service;
  inFlight(): number;
  /** Leaves discovery and the queue groups, then waits up to `graceMs` for calls in flight. */
  drain(graceMs: number): Promise<void>;
}

export async function serveStage(opts: ServeOptions): Promise<StageServer> {
  const { nc, log, stage } = opts;
  const service = await new Svcm(nc).add({
    name: opts.serviceName,
    version: opts.version,
    description: opts.description,
    metadata: opts.metadata,
  });
  const staticAttributes: Attributes = {
    ...opts.attributes,
    'messaging.system': 'nats',
    'messaging.operation.type': 'process',
    'spool.stage': stage,
    'spool.worker_id': service.info().id,
  };
  const gate = new Gate(opts.concurrency);
  let inFlight = 0;
  let draining = false;
  const idle: Array<() => void> = [];

  const replyError = (msg: ServiceMsg, err: SpoolError): void => {
    if (!msg.reply) return;
    const h = natsHeaders();
    for (const [k, v] of Object.entries(errorToHeaders(err))) h.set(k, v);
    msg.respondError(err.status, `${err.code}: ${err.message}`, Empty, { headers: h });
  };

  const handle = async (endpoint: StageEndpoint, msg: ServiceMsg): Promise<void> => {
    if (draining) {
      replyError(msg, wireError('SPOOL_ERR_DRAINING', `${stage} is shutting down`, { stage }));
      return;
    }
    inFlight++;
    const parent = extractContext(msg.headers);
    const stopBeats = msg.reply ? startHeartbeats(nc, msg.reply, stage, opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS) : () => undefined;
    try {
      await context.with(parent, () =>
        tracer().startActiveSpan(
          `${stage} ${endpoint.name}`,
          { kind: SpanKind.SERVER, attributes: { ...staticAttributes, 'messaging.destination.name': endpoint.subject, 'messaging.consumer.group.name': queueGroup(endpoint.subject) } },
          async (span) => {
            try {
              const arrived = performance.now();
              await gate.acquire();
              // Time spent waiting for a free handler (SPOOL_WORKER_CONCURRENCY).
              span.setAttribute('spool.wait_ms', Math.round((performance.now() - arrived) * 10) / 10);
              try {
                const bytes = await receiveFrame(nc, msg, { timeoutMs: opts.timeoutMs, from: opts.upstream, limits: opts.frameLimits, senderInbox: opts.upstreamInbox });
                span.setAttributes({ 'messaging.message.body.size': bytes.byteLength, 'spool.bytes_received': bytes.byteLength });
                const request = decodeFrame(bytes);
                span.setAttribute('spool.tensor_bytes_in', tensorBytes(request));
                const result = await endpoint.handler(request);
                const rows = batchRows(request, result);
                span.setAttributes({ 'spool.tensor_bytes_out': tensorBytes(result), ...(rows === undefined ? {} : { 'spool.batch_rows': rows }) });
                const hdrs = injectContext();
                const frame = encodeFrame(result);
                span.setAttribute('spool.bytes_sent', frame.byteLength);
                const payload = prepareFrame(nc, frame, hdrs, opts.timeoutMs);
                // The call leaves this worker: the next hop (or the caller) takes over.
                stopBeats();
                if (result.forwardTo) {
                  span.setAttribute('spool.forwarded_to', result.forwardTo);
                  if (!msg.reply) throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: a chained call needs a reply subject`, { stage });
                  nc.publish(result.forwardTo, payload, { reply: msg.reply, headers: hdrs });
                } else if (msg.reply) {
                  msg.respond(payload, { headers: hdrs });
                }
              } finally {
                gate.release();
              }
            } catch (err) {
              // A frame that does not decode is the sender's fault, not this stage's.
              const e = err instanceof FrameError ? wireError('SPOOL_ERR_BAD_MESSAGE', err.message, { stage, cause: err }) : asSpoolError(err, 'SPOOL_ERR_STAGE_FAILED', stage);
              const failure = e.stage ? e : new SpoolError(e.code, e.message, { status: e.status, stage, cause: err });
              span.recordException(failure);
              span.setStatus({ code: SpanStatusCode.ERROR, message: `${failure.code}: ${failure.message}` });
              log.warn({ err: failure, code: failure.code }, `${stage} call failed`);
              stopBeats();
              replyError(msg, failure);
            } finally {
              stopBeats();
              span.end();
            }
          },
        ),
      );
    } finally {
      inFlight--;
      if (inFlight === 0) idle.splice(0).forEach((resolve) => resolve());
    }
  };

  for (const endpoint of opts.endpoints) {
    service.addEndpoint(endpoint.name, {
      subject: endpoint.subject,
      queue: queueGroup(endpoint.subject),
      metadata: { subject: endpoint.subject },
      handler: (err, msg) => {
        if (err) {
          log.error({ err }, `${stage} endpoint ${endpoint.name} stopped`);
          return;
        }
        void handle(endpoint, msg);
      },
    });
  }

  // Once serveStage resolves, the server knows every subscription: discovery
  // and calls that start now find this worker.
  await nc.flush();

  return {
    service,
    inFlight: () => inFlight,
    async drain(graceMs: number): Promise<void> {
      draining = true;
      await service.stop().catch(() => undefined);
      if (inFlight === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** A counting semaphore that admits waiters in arrival order. */
class Gate {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}
