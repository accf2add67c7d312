/**
 * Calling stages. One caller per connection receives the messages of all its
 * calls on one subscription (`<inbox prefix>.calls.*`): heartbeats from the
 * worker that holds a call while it works on it, then the answer, or the
 * server's no-responders status when no worker serves the subject. A call
 * whose holder goes silent for `lostAfterMs` (killed, frozen, cut off from
 * NATS) is lost: it fails with SPOOL_ERR_CALL_LOST within seconds instead of
 * waiting for the per-call timeout. The caller does not send a call again by
 * itself; workers are stateless, so its user may (see the coordinator's retry).
 */
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { callReplySubjects } from '../bus/identity.ts';
import type { ChunkLimits } from '../chunking.ts';
import { decodeFrame, encodeFrame, type WireMessage } from '../codec.ts';
import { errorFromHeaders, SpoolError, wireError } from '../errors.ts';
import { commonAttributes, tracer } from '../telemetry.ts';
import { injectContext } from './carrier.ts';
import { inboxPrefixOf } from './connect.ts';
import { fromNatsError } from './errors-map.ts';
import { CALL_HEADER, HEARTBEAT, HOLDER_HEADER } from './heartbeat.ts';
import { prepareFrame, receiveFrame } from './transport.ts';

export interface CallerOptions {
  /** Silence from the worker holding a call after which the call is lost, ms. */
  readonly lostAfterMs: number;
  /** The largest reply frame accepted (`readFrameLimits`, SPOOL_MAX_FRAME_MB); the default limits when absent. */
  readonly frameLimits?: ChunkLimits;
}

export interface CallOptions {
  /** Stage label for errors and spans: `text-encoder`, `denoise.0`. */
  readonly stage: string;
  /** Bound on the whole call, heartbeats or not (a handler that never finishes). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly spanName?: string;
  /** Which try of this call this is, 1-based (`spool.attempt`); 1 when absent. */
  readonly attempt?: number;
  readonly attributes?: Record<string, string | number | boolean>;
  /**
   * Told the size of each frame that crossed: the request's once it is
   * published, the reply's once it is received whole (chunks joined). Only
   * sizes: the caller sees no contents here.
   */
  readonly onFrame?: (direction: 'sent' | 'received', bytes: number) => void;
}

interface Pending {
  readonly subject: string;
  readonly stage: string;
  readonly timeoutMs: number;
  readonly startedAt: number;
  lastHeard: number;
  /** The stage of the worker heard from last; the called stage until one beats. */
  holder: string;
  onHolder(stage: string): void;
  resolve(msg: Msg): void;
  reject(err: unknown): void;
}

export class StageCaller {
  private readonly root: string;
  private sub?: Subscription;
  private readonly pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: CallerOptions,
  ) {
    if (!(opts.lostAfterMs > 0)) throw new RangeError(`lostAfterMs must be positive (got ${opts.lostAfterMs})`);
    this.root = callReplySubjects(inboxPrefixOf(nc));
  }

  /** Calls in flight now. */
  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * One call: `message` is sent once; an encoded frame may be passed to reuse
   * it across attempts. Its CLIENT span carries the subject, the stage, the
   * attempt and the frame bytes sent and received, with the attributes of the
   * active context (`withCommonAttributes`: the request's id).
   */
  call(subject: string, message: WireMessage | Uint8Array, opts: CallOptions): Promise<WireMessage> {
    const attributes = {
      ...commonAttributes(),
      'messaging.system': 'nats',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'request',
      'messaging.destination.name': subject,
      'spool.stage': opts.stage,
      'spool.attempt': opts.attempt ?? 1,
      ...opts.attributes,
    };
    return tracer().startActiveSpan(opts.spanName ?? `call ${opts.stage}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      let holder = opts.stage;
      try {
        opts.signal?.throwIfAborted();
        if (this.closed) throw wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `cannot call ${opts.stage}: the caller is closed`, { stage: opts.stage });
        const frame = message instanceof Uint8Array ? message : encodeFrame(message);
        span.setAttributes({ 'messaging.message.body.size': frame.byteLength, 'spool.bytes_sent': frame.byteLength });
        const reply = await this.send(subject, frame, opts, (h) => {
          holder = h;
          span.addEvent('held', { 'spool.stage': h });
        });
        const failure = errorFromHeaders((k) => (reply.headers?.has(k) ? reply.headers.get(k) : undefined));
        if (failure) throw failure;
        const received = await receiveFrame(this.nc, reply, { timeoutMs: opts.timeoutMs, from: holder, limits: this.opts.frameLimits });
        opts.onFrame?.('received', received.byteLength);
        span.setAttribute('spool.bytes_received', received.byteLength);
        return decodeFrame(received);
      } catch (err) {
        const mapped = opts.signal?.aborted
          ? wireError('SPOOL_ERR_CANCELLED', `cancelled while waiting for ${holder}`, { stage: holder })
          : fromNatsError(err, holder, subject, opts.timeoutMs);
        // A reply whose chunks could not be pulled fails here, not at the worker: name the stage that sent it.
        const e = mapped.stage ? mapped : new SpoolError(mapped.code, mapped.message, { status: mapped.status, stage: holder, cause: err });
        span.recordException(e);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${e.code}: ${e.message}` });
        throw e;
      } finally {
        span.end();
      }
    });
  }

  /** Stops receiving; calls in flight fail. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `the call to ${p.stage} was abandoned: the caller closed`, { stage: p.stage }));
    this.pending.clear();
    this.sub?.unsubscribe();
    clearInterval(this.timer);
  }

  private send(subject: string, frame: Uint8Array, opts: CallOptions, onHolder: (stage: string) => void): Promise<Msg> {
    this.subscribe();
    const token = nuid.next();
    const hdrs = injectContext(context.active());
    const payload = prepareFrame(this.nc, frame, hdrs, opts.timeoutMs);
    return new Promise<Msg>((resolve, reject) => {
      const now = Date.now();
      const done = (): void => {
        this.pending.delete(token);
        opts.signal?.removeEventListener('abort', onAbort);
        if (this.pending.size === 0) this.disarm();
      };
      const onAbort = (): void => {
        done();
        reject(opts.signal?.reason);
      };
      const p: Pending = {
        subject,
        stage: opts.stage,
        timeoutMs: opts.timeoutMs,
        startedAt: now,
        lastHeard: now,
        holder: opts.stage,
        onHolder,
        resolve: (m) => {
          done();
          resolve(m);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(token, p);
      this.arm();
      try {
        this.nc.publish(subject, payload, { reply: `${this.root}.${token}`, headers: hdrs });
      } catch (err) {
        p.reject(err);
        return;
      }
      opts.onFrame?.('sent', frame.byteLength);
    });
  }

  private subscribe(): void {
    if (this.sub) return;
    this.sub = this.nc.subscribe(`${this.root}.*`, {
      callback: (err, m) => {
        if (err) return;
        const p = this.pending.get(m.subject.slice(this.root.length + 1));
        if (!p) return; // a call that ended (answered, lost or given up): late messages are dropped
        if (m.headers?.code === 503 && m.data.length === 0) {
          p.reject(wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `no live worker serves ${p.stage} (subject ${p.subject})`, { stage: p.stage }));
          return;
        }
        p.lastHeard = Date.now();
        if (m.headers?.get(CALL_HEADER) === HEARTBEAT) {
          const holder = m.headers.get(HOLDER_HEADER);
          if (holder && holder !== p.holder) {
            p.holder = holder;
            p.onHolder(holder);
          }
          return;
        }
        p.resolve(m);
      },
    });
  }

  /** Checks the calls in flight a few times per lost-after period. */
  private arm(): void {
    if (this.timer) return;
    const every = Math.max(25, Math.min(250, Math.floor(this.opts.lostAfterMs / 4)));
    this.timer = setInterval(() => this.check(), every);
    this.timer.unref();
  }

  private disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const now = Date.now();
    for (const p of [...this.pending.values()]) {
      if (now - p.startedAt > p.timeoutMs) {
        p.reject(wireError('SPOOL_ERR_STAGE_TIMEOUT', `${p.holder} did not answer within ${p.timeoutMs} ms`, { stage: p.holder }));
      } else if (now - p.lastHeard > this.opts.lostAfterMs) {
        p.reject(
          wireError('SPOOL_ERR_CALL_LOST', `${p.holder} stopped answering (no heartbeat for ${now - p.lastHeard} ms): its worker died, froze or lost NATS`, {
            stage: p.holder,
          }),
        );
      }
    }
  }
}
