/**
 * Admission, the decision: at most `maxConcurrent` requests run; up to
 * `maxQueue` more wait, first come first served; one caller may hold at most
 * `maxPerCaller` of those running and waiting places together, and may send
 * at most `rate` requests (a token bucket per caller). Past any of these a
 * request is refused with the time it should retry after: the forecast of
 * `wait-forecast.ts` over run times learned by `service-time.ts`.
 *
 * `AdmissionState` is plain data with the clock passed in (no timers, no
 * I/O); `AdmissionQueue` (admission-queue.ts) wraps it with promises and
 * abort signals for the route.
 *
 * Every request that reaches admission spends a token of its caller's bucket,
 * also one then refused for another reason: the bucket limits how often a
 * caller asks. A request refused for the rate itself spends nothing.
 *
 * Run time is learned as a request's share of the server: each moment it ran
 * counts 1/n when n requests ran at once. Where n at once make each n times
 * slower (a saturated CPU) the share is the run time alone; where running
 * together is cheaper (batching on a GPU) it comes out smaller. Either way a
 * request expected to run among n is expected to take n shares, which is
 * what the requests it was learned from took among n. A waiting request will
 * run with every slot busy (the queue is not empty), so among maxConcurrent.
 */
import { RateBuckets, type RateLimit } from './rate-limit.ts';
import { ServiceTime, type ServiceModel } from './service-time.ts';
import { forecastWaits } from './wait-forecast.ts';

export interface AdmissionLimits {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** Requests one caller may have running and waiting together; all of them when absent. */
  readonly maxPerCaller?: number;
  /** Requests per caller over time; no limit when absent or `perMinute` is 0. */
  readonly rate?: RateLimit;
  /** Milliseconds per step-frame assumed before any request has finished. */
  readonly priorMsPerUnit?: number;
}

/** What admission needs to know of a request. */
export interface Job {
  /** Who sent it (`token-<n>`): the per-caller limit and rate apply to it. */
  readonly caller: string;
  /** Its size in step-frames (denoising steps × latent frames), for the run time it is expected to take. */
  readonly work: number;
  /** A name to report it by (the request id). */
  readonly id?: string;
}

export type RefusalReason = 'queue-full' | 'caller-limit' | 'rate-limited';

/** What a refused caller holds, for the message. */
export interface Holding {
  readonly running: number;
  readonly waiting: number;
}

export type Admission =
  | { readonly kind: 'run' }
  | { readonly kind: 'wait'; readonly position: number }
  | { readonly kind: 'reject'; readonly reason: RefusalReason; readonly retryAfterS: number; readonly holding: Holding };

/** A held request's expected times, ms on the state's clock. */
export interface Estimate {
  readonly job: Job;
  /** Absent once it runs. */
  readonly startAt?: number;
  readonly finishAt: number;
  /** 1 = starts next; only while waiting. */
  readonly position?: number;
}

/** Retry-After is at least this, and never more than MAX_RETRY_AFTER_S. */
export const MIN_RETRY_AFTER_S = 1;
/** An estimate this long says "much later"; past it the number means little. */
export const MAX_RETRY_AFTER_S = 3_600;

/** Whole seconds from `now` until `at`, rounded up (from whole ms, so float noise does not add a second), within the Retry-After bounds. */
export function retryAfterSeconds(now: number, at: number): number {
  const s = Math.ceil(Math.round(at - now) / 1000);
  return Math.min(MAX_RETRY_AFTER_S, Math.max(MIN_RETRY_AFTER_S, Number.isFinite(s) ? s : MAX_RETRY_AFTER_S));
}

interface Running {
  readonly job: Job;
  /** Its share of the server so far, ms, up to `sharedAt`. */
  share: number;
}

export class AdmissionState<K> {
  private readonly running = new Map<K, Running>();
  private readonly waiting: Array<{ readonly key: K; readonly job: Job }> = [];
  /** Running and waiting requests per caller. */
  private readonly held = new Map<string, number>();
  private readonly buckets: RateBuckets;
  private readonly service: ServiceTime;
  /** When the running requests' shares were last brought up to date. */
  private sharedAt = -Infinity;

  constructor(readonly limits: AdmissionLimits) {
    this.buckets = new RateBuckets(limits.rate ?? { perMinute: 0, burst: 1 });
    this.service = new ServiceTime(limits.priorMsPerUnit);
  }

  get runningCount(): number {
    return this.running.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** The most a caller may hold. */
  get maxPerCaller(): number {
    return Math.min(this.limits.maxPerCaller ?? Infinity, this.limits.maxConcurrent + this.limits.maxQueue);
  }

  /** The run-time model the estimates use. */
  get serviceModel(): ServiceModel {
    return this.service.model();
  }

  /** Decides what happens to a new request arriving at `now`. */
  offer(key: K, job: Job, now: number): Admission {
    const rateWait = this.buckets.waitMs(job.caller, now);
    // A caller limit of every place is no limit of its own: the queue is what refuses then.
    const places = this.limits.maxConcurrent + this.limits.maxQueue;
    const overCaller = this.maxPerCaller < places && (this.held.get(job.caller) ?? 0) >= this.maxPerCaller;
    const runs = this.running.size < this.limits.maxConcurrent && this.waiting.length === 0;
    const full = !runs && this.waiting.length >= this.limits.maxQueue;
    if (rateWait === 0) this.buckets.take(job.caller, now);

    if (rateWait > 0 || overCaller || full) {
      // Retry when every refusing condition is expected to have cleared, and a token is back.
      let at = now + Math.max(rateWait, this.buckets.waitMs(job.caller, now));
      if (overCaller || full) {
        const f = this.forecast(now);
        if (full) at = Math.max(at, f.firstFreeAt);
        if (overCaller) {
          const first = f.estimates.reduce((t, e) => (e.job.caller === job.caller ? Math.min(t, e.finishAt) : t), Infinity);
          at = Math.max(at, first);
        }
      }
      const reason: RefusalReason = rateWait > 0 ? 'rate-limited' : overCaller ? 'caller-limit' : 'queue-full';
      return { kind: 'reject', reason, retryAfterS: retryAfterSeconds(now, at), holding: this.holding(job.caller) };
    }

    this.held.set(job.caller, (this.held.get(job.caller) ?? 0) + 1);
    if (runs) {
      this.accrue(now);
      this.running.set(key, { job, share: 0 });
      return { kind: 'run' };
    }
    this.waiting.push({ key, job });
    return { kind: 'wait', position: this.waiting.length };
  }

  /**
   * A request leaves at `now` (finished, failed, or abandoned while waiting).
   * Only a `completed` run teaches the run-time model: a failed or cancelled
   * one says little about how long a whole one takes. Returns the waiting
   * requests that now start running, in order.
   */
  leave(key: K, now: number, completed = false): K[] {
    this.accrue(now);
    const r = this.running.get(key);
    let job: Job | undefined;
    if (r) {
      this.running.delete(key);
      job = r.job;
      if (completed) this.service.observe(r.job.work, r.share);
    } else {
      const i = this.waiting.findIndex((w) => w.key === key);
      if (i >= 0) job = this.waiting.splice(i, 1)[0].job;
    }
    if (job) {
      const left = (this.held.get(job.caller) ?? 1) - 1;
      if (left > 0) this.held.set(job.caller, left);
      else this.held.delete(job.caller);
    }
    const started: K[] = [];
    while (this.running.size < this.limits.maxConcurrent && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.running.set(next.key, { job: next.job, share: 0 });
      started.push(next.key);
    }
    return started;
  }

  /** Brings the running requests' shares up to `now`: each ran 1/n of the time since the last change. */
  private accrue(now: number): void {
    const n = this.running.size;
    if (n > 0 && now > this.sharedAt) for (const r of this.running.values()) r.share += (now - this.sharedAt) / n;
    this.sharedAt = Math.max(this.sharedAt, now);
  }

  /** What a caller holds now. */
  holding(caller: string): Holding {
    let running = 0;
    for (const r of this.running.values()) if (r.job.caller === caller) running++;
    return { running, waiting: (this.held.get(caller) ?? 0) - running };
  }

  /** Expected start and finish of every held request (running first, then the queue in order), and when a newcomer would start. */
  forecast(now: number): { readonly estimates: readonly Estimate[]; readonly firstFreeAt: number; readonly nextStartAt: number } {
    const running = [...this.running.values()];
    const n = running.length;
    const since = n > 0 ? Math.max(0, now - this.sharedAt) / n : 0;
    const f = forecastWaits({
      slots: this.limits.maxConcurrent,
      now,
      // What is left of its share, taken among the n running now.
      running: running.map((r) => ({ remainingMs: (this.service.expectMs(r.job.work) - r.share - since) * n })),
      waiting: this.waiting.map((w) => ({ expectedMs: this.service.expectMs(w.job.work) * this.limits.maxConcurrent })),
    });
    const estimates: Estimate[] = [
      ...running.map((r, i) => ({ job: r.job, finishAt: f.running[i] })),
      ...this.waiting.map((w, i) => ({ job: w.job, position: i + 1, ...f.waiting[i] })),
    ];
    return { estimates, firstFreeAt: f.firstFreeAt, nextStartAt: f.nextStartAt };
  }
}
