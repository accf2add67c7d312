/**
 * Step-level batching, the decision: which pending denoiser calls go out now,
 * merged into one call each, and when to look again. Plain data in, plain
 * data out; no timers, no tensors, no NATS. The dispatcher
 * (`step-batcher.ts`) keeps the state and sends what this returns.
 *
 * Rules:
 * - Calls merge only when their keys are equal (same latent shape [F,C,h,w]
 *   and same text shape [L,D]); the timestep may differ per row.
 * - At most `maxBatch` calls merge; a full group goes at once, oldest first.
 * - A smaller group waits for more only while some running request is
 *   between calls (`idle` > 0: encoding its prompt or doing its sampler
 *   update, so it may join within the window), and never longer than
 *   `windowMs` after its oldest call arrived. A request whose own call is in
 *   flight is not waited for: its call is busy in the shard chain, which is
 *   the pipeline overlap batching must not undo.
 * - With `maxInFlight` (the pipeline depth: one call per shard keeps every
 *   shard busy), no call is sent while that many are in flight; held calls
 *   go when one returns, merged with the requests it brings back (their
 *   window starts at that return). Without it, requests that started at
 *   different times stay offset forever and never merge.
 * - `windowMs` 0 or `maxBatch` 1 disables batching: every call goes alone, at once.
 */

export interface BatchPolicy {
  /** How long a call may wait for partners, ms; 0 disables batching. */
  readonly windowMs: number;
  /** Most requests merged into one call. */
  readonly maxBatch: number;
  /** Most calls in flight at once; unbounded when absent. */
  readonly maxInFlight?: number;
}

export interface PendingCall<Id = number> {
  readonly id: Id;
  /** Calls with equal keys can merge. */
  readonly key: string;
  /** When the call was submitted, ms on the dispatcher's clock. */
  readonly arrivedAt: number;
}

export interface BatchingState<Id = number> {
  /** Calls not sent yet, in arrival order. */
  readonly pending: readonly PendingCall<Id>[];
  /** Running requests that have no call pending or in flight and may submit one soon. */
  readonly idle: number;
  /** Calls (merged or not) in flight now. */
  readonly inFlight?: number;
  /** When a call in flight last returned. */
  readonly freedAt?: number;
}

export interface BatchPlan<Id = number> {
  /** Each inner list becomes one call, in this order; ids in arrival order. */
  readonly dispatch: readonly (readonly Id[])[];
  /** When to decide again if nothing else happens first; absent when nothing is left waiting. */
  readonly wakeAt?: number;
}

export function planBatches<Id>(state: BatchingState<Id>, policy: BatchPolicy, now: number): BatchPlan<Id> {
  const max = Math.max(1, Math.floor(policy.maxBatch));
  if (policy.windowMs <= 0 || max === 1) return { dispatch: state.pending.map((c) => [c.id]) };

  // Groups in the order of their oldest call (Map keeps insertion order).
  const groups = new Map<string, PendingCall<Id>[]>();
  for (const call of state.pending) {
    const g = groups.get(call.key);
    if (g) g.push(call);
    else groups.set(call.key, [call]);
  }

  const dispatch: Id[][] = [];
  let wakeAt: number | undefined;
  let slots = policy.maxInFlight ? policy.maxInFlight - (state.inFlight ?? 0) : Infinity;
  for (const calls of groups.values()) {
    let rest = calls;
    while (rest.length >= max && slots > 0) {
      dispatch.push(rest.slice(0, max).map((c) => c.id));
      rest = rest.slice(max);
      slots--;
    }
    // Held for a free slot: the next return decides again.
    if (rest.length === 0 || slots <= 0) continue;
    const deadline = Math.max(rest[0].arrivedAt, state.freedAt ?? -Infinity) + policy.windowMs;
    if (state.idle === 0 || now >= deadline) {
      dispatch.push(rest.map((c) => c.id));
      slots--;
    } else wakeAt = wakeAt === undefined ? deadline : Math.min(wakeAt, deadline);
  }
  return wakeAt === undefined ? { dispatch } : { dispatch, wakeAt };
}

/** The key of a denoiser call: the shapes past the batch axis. */
export function batchKey(sampleShape: readonly number[], textShape: readonly number[]): string {
  return `${sampleShape.slice(1).join('x')}|${textShape.slice(1).join('x')}`;
}

/**
 * The policy the step batcher asks at every decision: fixed, or, when the
 * depth is a function (the live topology's shards × replicas), read again
 * each time.
 */
export function batchPolicy(base: Omit<BatchPolicy, 'maxInFlight'>, maxInFlight?: number | (() => number)): BatchPolicy | (() => BatchPolicy) {
  return typeof maxInFlight === 'function' ? () => ({ ...base, maxInFlight: maxInFlight() }) : { ...base, maxInFlight };
}
