/**
 * Admission: at most `maxConcurrent` requests run; up to `maxQueue` more wait
 * in arrival order; past that a request is refused. `AdmissionState` is the
 * decision as plain data (no timers, no I/O); `AdmissionQueue` wraps it with
 * promises and abort signals for the route.
 */

export type Admission = { readonly kind: 'run' } | { readonly kind: 'wait'; readonly position: number } | { readonly kind: 'reject'; readonly retryAfterS: number };

export interface AdmissionLimits {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
}

/** Seconds suggested in Retry-After before any request has finished. */
const DEFAULT_RUN_S = 10;

export class AdmissionState<K> {
  private readonly running = new Set<K>();
  private readonly waiting: K[] = [];
  /** Exponential moving average of run time, seconds. */
  private avgRunS = DEFAULT_RUN_S;

  constructor(readonly limits: AdmissionLimits) {}

  get runningCount(): number {
    return this.running.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Decides what happens to a new request. */
  offer(key: K): Admission {
    if (this.running.size < this.limits.maxConcurrent && this.waiting.length === 0) {
      this.running.add(key);
      return { kind: 'run' };
    }
    if (this.waiting.length < this.limits.maxQueue) {
      this.waiting.push(key);
      return { kind: 'wait', position: this.waiting.length };
    }
    return { kind: 'reject', retryAfterS: this.retryAfterS() };
  }

  /**
   * A request leaves (finished, failed or abandoned while waiting). Returns the
   * waiting requests that now start running, in order.
   */
  leave(key: K, ranForS?: number): K[] {
    if (this.running.delete(key)) {
      if (ranForS !== undefined && Number.isFinite(ranForS) && ranForS >= 0) this.avgRunS = 0.8 * this.avgRunS + 0.2 * ranForS;
    } else {
      const i = this.waiting.indexOf(key);
      if (i >= 0) this.waiting.splice(i, 1);
    }
    const started: K[] = [];
    while (this.running.size < this.limits.maxConcurrent && this.waiting.length > 0) {
      const next = this.waiting.shift() as K;
      this.running.add(next);
      started.push(next);
    }
    return started;
  }

  /** When a slot is likely to be free: the queue ahead drained at the observed rate. */
  retryAfterS(): number {
    const ahead = this.waiting.length + 1;
    const s = Math.round((this.avgRunS * ahead) / this.limits.maxConcurrent);
    return Math.min(600, Math.max(1, s));
  }
}

/** A slot held by a running request; `release()` is idempotent. */
export interface Slot {
  release(): void;
}

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
  constructor(readonly retryAfterS: number, readonly limits: AdmissionLimits) {
    super(`the server is busy: ${limits.maxConcurrent} requests are running and ${limits.maxQueue} are waiting; retry in ${retryAfterS} s`);
  }
}

export class AdmissionQueue {
  private readonly state: AdmissionState<symbol>;
  private readonly wakers = new Map<symbol, () => void>();

  constructor(limits: AdmissionLimits, private readonly now: () => number = () => performance.now()) {
    this.state = new AdmissionState(limits);
  }

  get limits(): AdmissionLimits {
    return this.state.limits;
  }

  get running(): number {
    return this.state.runningCount;
  }

  get waiting(): number {
    return this.state.waitingCount;
  }

  /**
   * Resolves with a slot once the request may run; rejects with
   * QueueFullError at once when the queue is full, or with the signal's
   * reason when it aborts while waiting.
   */
  acquire(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const key = Symbol('request');
    const decision = this.state.offer(key);
    if (decision.kind === 'reject') return Promise.reject(new QueueFullError(decision.retryAfterS, this.state.limits));
    if (decision.kind === 'run') return Promise.resolve(this.slot(key));
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = (): void => {
        this.wakers.delete(key);
        this.wake(this.state.leave(key));
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
    const started = this.now();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.wake(this.state.leave(key, (this.now() - started) / 1000));
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
