/**
 * How many stage calls of a request had to be sent again. Each request runs
 * with its own tally in async-local storage; the NATS pipeline counts a retry
 * into every tally of the call it sends again. A call that the step batcher
 * merged from several requests carries all their tallies, so each request
 * learns that its step was retried.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RetryTally {
  retries: number;
}

const scope = new AsyncLocalStorage<readonly RetryTally[]>();

/** Runs `fn` with these tallies counting the retries of the calls it makes. */
export function withTallies<T>(tallies: readonly RetryTally[], fn: () => T): T {
  return scope.run(tallies, fn);
}

/** The tallies of the calls made from here. */
export function currentTallies(): readonly RetryTally[] {
  return scope.getStore() ?? [];
}

/** A call made from here was sent again. */
export function countRetry(): void {
  for (const t of currentTallies()) t.retries++;
}
