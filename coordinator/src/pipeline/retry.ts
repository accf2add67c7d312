/**
 * Sending a stage call again when it was lost. Workers are stateless, so a
 * call whose worker died, froze, drained or was not there (no responders) can
 * go again, to another replica of the stage or to the restarted worker, a
 * bounded number of times and within a bounded time after the first failure.
 * Other failures (a model error, a malformed message, a timeout of a call
 * whose worker kept beating) are final: sending them again would fail the
 * same way.
 */
import { isSpoolError } from '@spool/shared';

export interface RetryPolicy {
  /** Tries of one call at most, the first included. */
  readonly attempts: number;
  /** Retries start only this long after the first failure, ms. */
  readonly budgetMs: number;
  /** Pause before retry n (1-based): min(first · 2^(n−1), cap), ms. */
  readonly backoffMs: { readonly first: number; readonly cap: number };
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ attempts: 5, budgetMs: 8_000, backoffMs: Object.freeze({ first: 200, cap: 2_000 }) });

/** Codes of failures after which the same call may succeed elsewhere. */
export const RETRIABLE_CODES: ReadonlySet<string> = new Set([
  'SPOOL_ERR_CALL_LOST',
  'SPOOL_ERR_STAGE_UNAVAILABLE',
  'SPOOL_ERR_DRAINING',
  'SPOOL_ERR_BUS_UNAVAILABLE',
]);

export function isRetriable(err: unknown): boolean {
  return isSpoolError(err) && RETRIABLE_CODES.has(err.code);
}

export interface RetryHooks {
  /** Told before each retry: the failure, the number of the next try, the pause. */
  readonly onRetry?: (err: unknown, nextAttempt: number, delayMs: number) => void;
  /** Resolves when a retry has a chance (e.g. NATS is connected again), or at `until` (a clock time); default: at once. */
  readonly ready?: (until: number) => Promise<void>;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, signal: AbortSignal | undefined, hooks: RetryHooks = {}): Promise<T> {
  const now = hooks.now ?? (() => Date.now());
  const sleep = hooks.sleep ?? pause;
  let firstFailure: number | undefined;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (signal?.aborted || !isRetriable(err) || n >= policy.attempts) throw err;
      firstFailure ??= now();
      const delay = Math.min(policy.backoffMs.cap, policy.backoffMs.first * 2 ** (n - 1));
      const until = firstFailure + policy.budgetMs;
      if (now() + delay > until) throw err;
      hooks.onRetry?.(err, n + 1, delay);
      await sleep(delay, signal);
      await hooks.ready?.(until);
      signal?.throwIfAborted();
    }
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
