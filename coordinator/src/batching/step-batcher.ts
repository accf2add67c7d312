/**
 * Step-level batching, the sending. Each running request opens a session;
 * its denoiser calls wait here until `planBatches` (`plan.ts`)
 * says to send them, alone or merged with other requests' calls of the same
 * shape into one `Pipeline.denoise` of batch 2k, whose output is split back
 * per request. Wrapping `Pipeline` keeps it independent of NATS.
 *
 * Failure and abort: an error of a merged call fails every request in it with
 * that error. A request aborted before its call is sent leaves the batch; one
 * aborted while its batch is in flight fails at once and its slice is
 * dropped; the merged call itself is aborted only when all its requests are.
 *
 * Tracing: a call sent alone is sent in its request's context, so a lone
 * request's trace is exactly what it is without batching. A merged call gets
 * a `denoise batch` span (attributes `spool.batch_size`, `spool.batch_rows`
 * and `spool.request_ids`) under the step span of its oldest request; its
 * stage call (which names every request in it too) and the shard spans hang
 * below it, and it links to the other requests' step spans (which link back
 * to it).
 */
import { context, trace, type Context, type Link } from '@opentelemetry/api';
import { commonAttributes, tracer, withCommonAttributes, type Tensor } from '@spool/shared';
import { batchKey, planBatches, type BatchPolicy } from './plan.ts';
import { concatRows, splitRows } from './batch-tensors.ts';
import type { DenoiseSession, Pipeline } from '../pipeline/pipeline.ts';
import { currentTallies, withTallies, type RetryTally } from '../pipeline/retry-tally.ts';
import { markFailed } from '../pipeline/spans.ts';

/** `idle`: between calls; `gone`: aborted, about to close. */
type SessionState = 'idle' | 'pending' | 'inflight' | 'gone';

interface Session {
  state: SessionState;
}

interface Call {
  readonly id: number;
  readonly key: string;
  readonly arrivedAt: number;
  readonly rows: number;
  readonly sample: Tensor<'float32'>;
  readonly text: Tensor<'float32'>;
  readonly timestep: Tensor<'float32'>;
  readonly signal: AbortSignal;
  /** The caller's context: its step span is the parent of what is sent for it. */
  readonly ctx: Context;
  /** Where the caller counts retries of its calls. */
  readonly tallies: readonly RetryTally[];
  readonly session: Session;
  readonly resolve: (v: Tensor<'float32'>) => void;
  readonly reject: (err: unknown) => void;
  settled: boolean;
  detach: () => void;
  /** Set while in a merged call: tells the call that this request left. */
  onDrop?: () => void;
}

/** Counters of what was sent, for tests and measurements. */
export interface BatchStats {
  /** Denoiser calls sent. */
  calls: number;
  /** Of those, calls that merged two or more requests. */
  merged: number;
  /** Request-steps served (the sum of batch sizes). */
  requestSteps: number;
}

export interface StepBatcherOptions {
  /** The clock the batching window runs on, ms. */
  readonly now?: () => number;
  /** Told the number of requests in each denoiser call sent (the metrics' batch sizes). */
  readonly onSend?: (requests: number) => void;
}

export class StepBatcher {
  readonly stats: BatchStats = { calls: 0, merged: 0, requestSteps: 0 };
  private readonly sessions = new Set<Session>();
  private pending: Call[] = [];
  private inFlight = 0;
  private freedAt: number | undefined;
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private pumping = false;
  private again = false;

  private readonly now: () => number;

  /**
   * `policy` may be a function, asked again at every decision: the pipeline
   * depth (`maxInFlight`) follows the live topology.
   */
  constructor(
    private readonly pipeline: Pipeline,
    private readonly policy: BatchPolicy | (() => BatchPolicy),
    private readonly opts: StepBatcherOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** Opens a session; the request counts as a possible partner until it closes. */
  session(): DenoiseSession {
    const s: Session = { state: 'idle' };
    this.sessions.add(s);
    return {
      denoise: (sample, text, timestep, signal) => this.submit(s, sample, text, timestep, signal),
      close: () => {
        if (this.sessions.delete(s)) this.pump();
      },
    };
  }

  private submit(session: Session, sample: Tensor<'float32'>, text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const rows = sample.shape[0];
    if (text.shape[0] !== rows || timestep.shape.length !== 1 || timestep.shape[0] !== rows) {
      return Promise.reject(new RangeError(`a denoiser call needs ${rows} rows in sample, text and timestep; got [${text.shape.join(', ')}] and [${timestep.shape.join(', ')}]`));
    }
    return new Promise<Tensor<'float32'>>((resolve, reject) => {
      const call: Call = {
        id: this.nextId++,
        key: batchKey(sample.shape, text.shape),
        arrivedAt: this.now(),
        rows,
        sample,
        text,
        timestep,
        signal,
        ctx: context.active(),
        tallies: currentTallies(),
        session,
        resolve,
        reject,
        settled: false,
        detach: () => undefined,
      };
      const onAbort = (): void => this.abandon(call);
      signal.addEventListener('abort', onAbort, { once: true });
      call.detach = () => signal.removeEventListener('abort', onAbort);
      session.state = 'pending';
      this.pending.push(call);
      this.pump();
    });
  }

  private abandon(call: Call): void {
    if (call.settled) return;
    const i = this.pending.indexOf(call);
    if (i >= 0) this.pending.splice(i, 1);
    call.session.state = 'gone';
    this.settle(call, { error: call.signal.reason });
    call.onDrop?.();
    this.pump();
  }

  /** Asks the plan what to send now, sends it, and sets the timer for the rest. */
  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        const idle = [...this.sessions].filter((s) => s.state === 'idle').length;
        const policy = typeof this.policy === 'function' ? this.policy() : this.policy;
        const plan = planBatches({ pending: this.pending, idle, inFlight: this.inFlight, freedAt: this.freedAt }, policy, this.now());
        const byId = new Map(this.pending.map((c) => [c.id, c]));
        const batches = plan.dispatch.map((ids) => ids.map((id) => byId.get(id) as Call));
        const sent = new Set(batches.flat());
        this.pending = this.pending.filter((c) => !sent.has(c));
        for (const calls of batches) this.send(calls);
        this.arm(plan.wakeAt);
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  private arm(wakeAt: number | undefined): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (wakeAt === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, wakeAt - this.now()));
  }

  private send(calls: Call[]): void {
    for (const c of calls) c.session.state = 'inflight';
    this.inFlight++;
    const done = (): void => {
      this.inFlight--;
      this.freedAt = this.now();
    };
    this.stats.calls++;
    this.stats.requestSteps += calls.length;
    this.opts.onSend?.(calls.length);
    if (calls.length === 1) {
      const [c] = calls;
      context
        .with(c.ctx, () => withTallies(c.tallies, () => this.pipeline.denoise(c.sample, c.text, c.timestep, c.signal)))
        .then((v) => this.finish(c, { value: v }), (err: unknown) => this.finish(c, { error: err }))
        .finally(() => this.returned(done));
      return;
    }
    this.stats.merged++;
    const shared = new AbortController();
    const live = new Set(calls);
    for (const c of calls) {
      c.onDrop = () => {
        live.delete(c);
        if (live.size === 0) shared.abort(c.signal.reason);
      };
    }
    const [leader, ...others] = calls;
    const links: Link[] = others.flatMap((c) => {
      const sc = trace.getSpanContext(c.ctx);
      return sc ? [{ context: sc }] : [];
    });
    // The merged call serves every request in it: its spans name them all, not the leader alone.
    const ids = calls.map((c) => commonAttributes(c.ctx)['spool.request_id']).filter((id): id is string => typeof id === 'string');
    const served = ids.length > 0 ? { 'spool.request_ids': ids } : {};
    const attributes = { ...served, 'spool.batch_size': calls.length, 'spool.batch_rows': calls.reduce((n, c) => n + c.rows, 0) };
    context
      .with(withCommonAttributes(leader.ctx, served, { replace: true }), () =>
        tracer().startActiveSpan('denoise batch', { attributes, links }, async (span) => {
          for (const c of calls) {
            const step = trace.getSpan(c.ctx);
            step?.setAttribute('spool.batch_size', calls.length);
            if (c !== leader) step?.addLink({ context: span.spanContext() });
          }
          try {
            const out = await withTallies(
              calls.flatMap((c) => c.tallies),
              () =>
                this.pipeline.denoise(
                  concatRows(calls.map((c) => c.sample)),
                  concatRows(calls.map((c) => c.text)),
                  concatRows(calls.map((c) => c.timestep)),
                  shared.signal,
                ),
            );
            return splitRows(out, calls.map((c) => c.rows));
          } catch (err) {
            markFailed(span, err);
            throw err;
          } finally {
            span.end();
          }
        }),
      )
      .then(
        (parts) => calls.forEach((c, i) => this.finish(c, { value: parts[i] })),
        (err: unknown) => calls.forEach((c) => this.finish(c, { error: err })),
      )
      .finally(() => this.returned(done));
  }

  /** A call came back: its slot is free for calls held behind it. */
  private returned(done: () => void): void {
    done();
    this.pump();
  }

  private finish(call: Call, outcome: { value: Tensor<'float32'> } | { error: unknown }): void {
    call.onDrop = undefined;
    if (call.settled) return; // aborted while in flight: its slice is dropped
    call.session.state = 'idle';
    this.settle(call, outcome);
  }

  private settle(call: Call, outcome: { value: Tensor<'float32'> } | { error: unknown }): void {
    call.settled = true;
    call.detach();
    if ('value' in outcome) call.resolve(outcome.value);
    else call.reject(outcome.error);
  }
}
