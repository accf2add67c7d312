/**
 * Admission for the generation service: `AdmissionState` (admission.ts) with
 * promises and abort signals around it and a clock of its own. `acquire`
 * resolves with a slot once the request may run, or rejects at once with an
 * AdmissionRefusedError (a SpoolError of code SPOOL_ERR_QUEUE_FULL,
 * SPOOL_ERR_TOKEN_LIMIT or SPOOL_ERR_RATE_LIMITED) that carries its reason and
 * Retry-After.
 */
import { RefusedError, type CoordinatorErrorCode } from '../errors.ts';
import { AdmissionState, type AdmissionLimits, type Holding, type Job, type RefusalReason } from './admission.ts';
import type { ServiceModel } from './service-time.ts';

/** A slot held by a running request; `release()` is idempotent. */
export interface Slot {
  /** Frees the slot; `completed` when the request ran to its end, so its run time teaches the estimates. */
  release(opts?: { completed?: boolean }): void;
}

/** The error code of each refusal. */
export const REFUSAL_CODES: Readonly<Record<RefusalReason, CoordinatorErrorCode>> = Object.freeze({
  'queue-full': 'SPOOL_ERR_QUEUE_FULL',
  'caller-limit': 'SPOOL_ERR_TOKEN_LIMIT',
  'rate-limited': 'SPOOL_ERR_RATE_LIMITED',
});

export class AdmissionRefusedError extends RefusedError {
  constructor(
    readonly reason: RefusalReason,
    retryAfterS: number,
    readonly limits: AdmissionLimits & { readonly maxPerCaller: number },
    readonly holding: Holding,
  ) {
    super(REFUSAL_CODES[reason], refusalMessage(reason, retryAfterS, limits, holding), retryAfterS);
  }
}

function refusalMessage(reason: RefusalReason, retryS: number, l: AdmissionLimits & { maxPerCaller: number }, h: Holding): string {
  const retry = `retry in ${retryS} s`;
  switch (reason) {
    case 'queue-full':
      return `the server is busy: ${l.maxConcurrent} requests are running and ${l.maxQueue} are waiting (SPOOL_MAX_CONCURRENT, SPOOL_MAX_QUEUE); ${retry}, when a place in the queue is expected to free`;
    case 'caller-limit':
      return (
        `this token has ${h.running} requests running and ${h.waiting} queued, its limit of ${l.maxPerCaller} (SPOOL_MAX_PER_TOKEN); ` +
        `${retry}, when the first of them is expected to finish`
      );
    case 'rate-limited':
      return (
        `this token sends faster than its rate limit of ${l.rate?.perMinute} requests a minute with bursts of ${l.rate?.burst} ` +
        `(SPOOL_RATE_LIMIT, SPOOL_RATE_BURST); ${retry}, when its next request is allowed`
      );
  }
}

/** A held request's expected times, ms from now. */
export interface Outlook {
  /** Absent once it runs. */
  readonly startInMs?: number;
  readonly finishInMs: number;
  /** 1 = starts next; only while waiting. */
  readonly position?: number;
}

export class AdmissionQueue {
  private readonly state: AdmissionState<symbol>;
  private readonly wakers = new Map<symbol, () => void>();

  constructor(limits: AdmissionLimits, private readonly now: () => number = () => performance.now()) {
    this.state = new AdmissionState(limits);
  }

  get limits(): AdmissionLimits & { readonly maxPerCaller: number } {
    return { ...this.state.limits, maxPerCaller: this.state.maxPerCaller };
  }

  get running(): number {
    return this.state.runningCount;
  }

  get waiting(): number {
    return this.state.waitingCount;
  }

  get serviceModel(): ServiceModel {
    return this.state.serviceModel;
  }

  /** Whole milliseconds until a request arriving now would start (0 when a slot is free). */
  expectedWaitMs(): number {
    const now = this.now();
    return Math.max(0, Math.round(this.state.forecast(now).nextStartAt - now));
  }

  /** The expected times of the held requests that were given an id, by id, in whole ms from now. */
  outlook(): Map<string, Outlook> {
    const now = this.now();
    const out = new Map<string, Outlook>();
    for (const e of this.state.forecast(now).estimates) {
      if (e.job.id === undefined) continue;
      out.set(e.job.id, {
        ...(e.startAt === undefined ? {} : { startInMs: Math.max(0, Math.round(e.startAt - now)), position: e.position }),
        finishInMs: Math.max(0, Math.round(e.finishAt - now)),
      });
    }
    return out;
  }

  /**
   * Resolves with a slot once the request may run; rejects with
   * AdmissionRefusedError at once when it is refused, or with the signal's
   * reason when it aborts while waiting. `onQueued` is told at once, with
   * the place in the queue, when the request waits rather than runs.
   */
  acquire(job: Job, signal?: AbortSignal, onQueued?: (position: number) => void): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = Symbol(job.id ?? 'request');
    const decision = this.state.offer(key, job, this.now());
    if (decision.kind === 'reject') return Promise.reject(new AdmissionRefusedError(decision.reason, decision.retryAfterS, this.limits, decision.holding));
    if (decision.kind === 'run') return Promise.resolve(this.slot(key));
    onQueued?.(decision.position);
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = (): void => {
        this.wakers.delete(key);
        this.wake(this.state.leave(key, this.now()));
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wakers.set(key, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.slot(key));
      });
    });
  }

  private slot(key: symbol): Slot {
    let released = false;
    return {
      release: (opts = {}) => {
        if (released) return;
        released = true;
        this.wake(this.state.leave(key, this.now(), opts.completed === true));
      },
    };
  }

  private wake(keys: symbol[]): void {
    for (const k of keys) {
      const w = this.wakers.get(k);
      this.wakers.delete(k);
      w?.();
    }
  }
}
