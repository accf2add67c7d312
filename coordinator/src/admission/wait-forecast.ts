/**
 * When the requests held now are expected to start and finish: the slots and
 * the queue played forward in order. Each running request frees its slot when
 * its expected time left has passed; each waiting request, in queue order,
 * takes the slot that frees first and holds it for its own expected run time.
 * This is what admission does, with expected durations in place of real ones.
 *
 * A running request already past its expected run time (time left ≤ 0) is
 * taken to finish now: nothing better is known about it, and the next
 * estimate (or a Retry-After of at least 1 s) corrects it.
 *
 * Plain numbers in, plain numbers out; times in ms on the caller's clock.
 */

export interface ForecastInput {
  /** Requests that run at once. */
  readonly slots: number;
  readonly now: number;
  /** The running requests, with how long each is expected to run on. */
  readonly running: readonly { readonly remainingMs: number }[];
  /** The waiting requests in queue order, with how long each is expected to run. */
  readonly waiting: readonly { readonly expectedMs: number }[];
}

export interface Forecast {
  /** Expected finish of each running request, in input order. */
  readonly running: readonly number[];
  /** Expected start and finish of each waiting request, in queue order. */
  readonly waiting: readonly { readonly startAt: number; readonly finishAt: number }[];
  /** When a slot first frees (now when one is free): the head of the queue starts then. */
  readonly firstFreeAt: number;
  /** When a request arriving now, behind every waiting one, would start. */
  readonly nextStartAt: number;
}

export function forecastWaits(input: ForecastInput): Forecast {
  const { now } = input;
  const running = input.running.map((r) => now + Math.max(0, r.remainingMs));
  const free = new MinHeap([...running, ...Array<number>(Math.max(0, Math.max(1, input.slots) - running.length)).fill(now)]);
  const firstFreeAt = free.peek();
  const waiting = input.waiting.map((w) => {
    const startAt = free.pop();
    const finishAt = startAt + w.expectedMs;
    free.push(finishAt);
    return { startAt, finishAt };
  });
  return { running, waiting, firstFreeAt, nextStartAt: free.peek() };
}

/** A binary min-heap of numbers: the slots' free times. */
class MinHeap {
  private readonly a: number[] = [];

  constructor(values: readonly number[]) {
    for (const v of values) this.push(v);
  }

  peek(): number {
    return this.a[0];
  }

  push(v: number): void {
    const a = this.a;
    let i = a.push(v) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= a[i]) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): number {
    const a = this.a;
    const top = a[0];
    const last = a.pop() as number;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l] < a[m]) m = l;
        if (r < a.length && a[r] < a[m]) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
