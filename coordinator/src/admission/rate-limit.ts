/**
 * A token bucket per caller: each caller may send `burst` requests at once,
 * then `perMinute` a minute. A bucket fills at perMinute/60 tokens a second up
 * to `burst`; a request takes one whole token. A caller seen for the first
 * time has a full bucket, and a full bucket is forgotten, so the map holds
 * only callers that sent something recently. Times in ms on the caller's
 * clock; no timers.
 */

export interface RateLimit {
  /** Requests a minute, per caller, once the burst is spent; 0 turns the limit off. */
  readonly perMinute: number;
  /** Requests a caller may send back to back. */
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly limit: RateLimit) {}

  get enabled(): boolean {
    return this.limit.perMinute > 0;
  }

  /** Tokens in the caller's bucket now. */
  tokens(caller: string, now: number): number {
    if (!this.enabled) return Infinity;
    const b = this.buckets.get(caller);
    if (!b) return this.limit.burst;
    const refilled = (Math.max(0, now - b.at) * this.limit.perMinute) / 60_000;
    return Math.min(this.limit.burst, b.tokens + refilled);
  }

  /** Milliseconds until the caller has a whole token; 0 when it has one now. */
  waitMs(caller: string, now: number): number {
    const missing = 1 - this.tokens(caller, now);
    return missing <= 0 ? 0 : (missing * 60_000) / this.limit.perMinute;
  }

  /** Takes a token if the caller has one; false when it has none. */
  take(caller: string, now: number): boolean {
    if (!this.enabled) return true;
    const tokens = this.tokens(caller, now);
    if (tokens < 1) return false;
    this.buckets.set(caller, { tokens: tokens - 1, at: now });
    this.forgetFull(now);
    return true;
  }

  /** Callers tracked now (full buckets are dropped). */
  get size(): number {
    return this.buckets.size;
  }

  private forgetFull(now: number): void {
    for (const [caller] of this.buckets) if (this.tokens(caller, now) >= this.limit.burst) this.buckets.delete(caller);
  }
}
