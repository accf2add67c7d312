import { describe, expect, it } from 'vitest';
import { AdmissionState, retryAfterSeconds, type AdmissionLimits } from '../src/admission/admission.ts';
import { AdmissionQueue, AdmissionRefusedError } from '../src/admission/admission-queue.ts';

const A = { caller: 'token-0', work: 100 };
const B = { caller: 'token-1', work: 100 };
/** No per-caller limit or rate unless a test sets one; 10 ms per step-frame, so a job of 100 is expected to take 1 s. */
const state = (limits: Partial<AdmissionLimits>) => new AdmissionState<string>({ maxConcurrent: 1, maxQueue: 5, priorMsPerUnit: 10, ...limits });

describe('AdmissionState: slots and queue', () => {
  it('runs up to the limit, queues up to the bound, then refuses', () => {
    const s = state({ maxConcurrent: 2, maxQueue: 2 });
    expect(s.offer('a', A, 0)).toEqual({ kind: 'run' });
    expect(s.offer('b', A, 0)).toEqual({ kind: 'run' });
    expect(s.offer('c', A, 0)).toEqual({ kind: 'wait', position: 1 });
    expect(s.offer('d', A, 0)).toEqual({ kind: 'wait', position: 2 });
    expect(s.offer('e', A, 0)).toMatchObject({ kind: 'reject', reason: 'queue-full' });
    expect([s.runningCount, s.waitingCount]).toEqual([2, 2]);
  });

  it('starts waiters in arrival order as slots free', () => {
    const s = state({});
    s.offer('a', A, 0);
    s.offer('b', A, 0);
    s.offer('c', A, 0);
    expect(s.leave('a', 1, true)).toEqual(['b']);
    expect(s.leave('b', 2, true)).toEqual(['c']);
    expect(s.leave('c', 3, true)).toEqual([]);
  });

  it('lets a waiter leave the queue without starting anything', () => {
    const s = state({});
    s.offer('a', A, 0);
    s.offer('b', A, 0);
    s.offer('c', A, 0);
    expect(s.leave('b', 0)).toEqual([]);
    expect(s.leave('a', 0)).toEqual(['c']);
  });

  it('does not let a newcomer jump the queue', () => {
    const s = state({});
    s.offer('a', A, 0);
    s.offer('b', A, 0);
    s.leave('b', 0);
    s.offer('c', A, 0);
    expect(s.offer('d', A, 0)).toEqual({ kind: 'wait', position: 2 });
  });

  it('with maxQueue 0 refuses as soon as every slot is busy', () => {
    const s = state({ maxQueue: 0 });
    s.offer('a', A, 0);
    expect(s.offer('b', A, 0).kind).toBe('reject');
  });
});

describe('AdmissionState: per-caller limit', () => {
  it('refuses a caller at its limit while another still gets in, and counts running and waiting together', () => {
    const s = state({ maxConcurrent: 1, maxQueue: 3, maxPerCaller: 2 });
    expect(s.offer('a1', A, 0)).toEqual({ kind: 'run' });
    expect(s.offer('a2', A, 0)).toEqual({ kind: 'wait', position: 1 });
    expect(s.offer('a3', A, 0)).toMatchObject({ kind: 'reject', reason: 'caller-limit', holding: { running: 1, waiting: 1 } });
    expect(s.offer('b1', B, 0)).toEqual({ kind: 'wait', position: 2 });
    // A place of the caller frees when one of its requests leaves.
    expect(s.leave('a1', 1_000, true)).toEqual(['a2']);
    expect(s.offer('a3', A, 1_000)).toEqual({ kind: 'wait', position: 2 });
    expect(s.holding('token-0')).toEqual({ running: 1, waiting: 1 });
  });

  it("tells the caller to retry when its first request is expected to finish", () => {
    const s = state({ maxConcurrent: 1, maxQueue: 3, maxPerCaller: 1 });
    s.offer('b1', B, 0); // runs 0..1000
    s.offer('a1', { caller: 'token-0', work: 300 }, 0); // waits, then 1000..4000
    const r = s.offer('a2', A, 200);
    expect(r).toMatchObject({ kind: 'reject', reason: 'caller-limit', holding: { running: 0, waiting: 1 } });
    expect(r.kind === 'reject' && r.retryAfterS).toBe(4); // (4000 - 200) ms, rounded up
  });

  it('is capped at every place there is', () => {
    expect(state({ maxConcurrent: 2, maxQueue: 3, maxPerCaller: 100 }).maxPerCaller).toBe(5);
    expect(state({ maxConcurrent: 2, maxQueue: 3 }).maxPerCaller).toBe(5);
  });
});

describe('AdmissionState: rate', () => {
  it('refuses past the burst until the bucket refills, and every offer that is not rate-limited spends a token', () => {
    const s = state({ maxConcurrent: 1, maxQueue: 0, rate: { perMinute: 6, burst: 2 } });
    expect(s.offer('a1', A, 0)).toEqual({ kind: 'run' });
    // Refused for the full queue, and spends the last token.
    expect(s.offer('a2', A, 0)).toMatchObject({ kind: 'reject', reason: 'queue-full' });
    s.leave('a1', 500, true);
    const r = s.offer('a3', A, 1_000);
    expect(r).toMatchObject({ kind: 'reject', reason: 'rate-limited' });
    expect(r.kind === 'reject' && r.retryAfterS).toBe(9); // a token every 10 s, the first spent at 0
    expect(s.offer('b1', B, 1_000)).toEqual({ kind: 'run' });
    s.leave('b1', 2_000, true);
    expect(s.offer('a3', A, 10_000)).toEqual({ kind: 'run' });
  });
});

describe('AdmissionState: Retry-After', () => {
  it('for a full queue is when the next place frees, from the run times of finished requests', () => {
    const s = state({ maxConcurrent: 1, maxQueue: 1 });
    // Finished requests: 4 s for 100 step-frames.
    for (let i = 0; i < 3; i++) {
      s.offer(`r${i}`, A, i * 10_000);
      s.leave(`r${i}`, i * 10_000 + 4_000, true);
    }
    s.offer('x', A, 100_000); // expected to finish at 104 000
    s.offer('y', { caller: 'token-0', work: 200 }, 100_000);
    const r = s.offer('z', B, 101_500);
    expect(r).toEqual({ kind: 'reject', reason: 'queue-full', retryAfterS: 3, holding: { running: 0, waiting: 0 } });
    // Twice the work, twice the time: y runs from 104 000 for 8 s, and a newcomer starts after it.
    expect(s.forecast(101_500).nextStartAt).toBe(112_000);
  });

  it("learns a request's share of the server, and expects n shares among n", () => {
    const s = state({ maxConcurrent: 2, maxQueue: 2 });
    s.offer('a', A, 0);
    s.offer('b', A, 1_000);
    s.leave('a', 3_000, true); // 1 s alone, then 2 s beside b: a share of 1 + 1 s
    expect(s.serviceModel).toMatchObject({ fixedMs: 0, perUnitMs: 20, samples: 1 });
    s.offer('c', A, 3_000);
    s.offer('d', A, 3_000);
    // b has had 1 s of its 2: 1 s left, 2 s beside c; c has 2 s left, 4 s beside b; d takes a slot when b is done, for 2 × 2 s.
    const f = s.forecast(3_000);
    expect(f.estimates.map((e) => [e.startAt, e.finishAt])).toEqual([
      [undefined, 5_000],
      [undefined, 7_000],
      [5_000, 9_000],
    ]);
    expect(s.offer('e', B, 4_000)).toEqual({ kind: 'wait', position: 2 });
    // At 4 s, b has 0.5 s of share left: 1 s among two.
    expect(s.forecast(4_000).estimates[0].finishAt).toBe(5_000);
  });

  it('does not learn from requests that did not complete', () => {
    const s = state({ maxQueue: 0 });
    s.offer('a', A, 0);
    s.leave('a', 60_000); // failed or cancelled after a minute
    expect(s.serviceModel.samples).toBe(0);
    s.offer('b', A, 60_000);
    const r = s.offer('c', B, 60_000);
    expect(r.kind === 'reject' && r.retryAfterS).toBe(1); // the prior: 100 × 10 ms
  });

  it('is the latest of every refusing condition', () => {
    // Caller at its limit and the queue full: the caller's own first request (8 s) decides.
    const s = state({ maxConcurrent: 1, maxQueue: 1, maxPerCaller: 1 });
    s.offer('b', { caller: 'token-1', work: 200 }, 0); // 0..2000
    s.offer('a', { caller: 'token-0', work: 800 }, 0); // 2000..10000
    const r = s.offer('a2', A, 0);
    expect(r).toMatchObject({ reason: 'caller-limit', retryAfterS: 10 });
  });

  it('rounds up, at least 1 s, at most an hour', () => {
    expect(retryAfterSeconds(0, 1)).toBe(1);
    expect(retryAfterSeconds(0, -5_000)).toBe(1);
    expect(retryAfterSeconds(0, 2_001)).toBe(3);
    expect(retryAfterSeconds(0, 1e9)).toBe(3_600);
    expect(retryAfterSeconds(0, Infinity)).toBe(3_600);
  });
});

describe('AdmissionQueue', () => {
  const job = (id: string, caller = 'token-0') => ({ id, caller, work: 100 });

  it('hands out slots in order and refuses when full', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 1 });
    const first = await q.acquire(job('1'));
    const order: string[] = [];
    const second = q.acquire(job('2')).then((s) => {
      order.push('second');
      return s;
    });
    const refused = q.acquire(job('3'));
    await expect(refused).rejects.toBeInstanceOf(AdmissionRefusedError);
    await expect(refused).rejects.toMatchObject({ reason: 'queue-full', message: expect.stringMatching(/1 requests are running and 1 are waiting/) });
    expect([q.running, q.waiting]).toEqual([1, 1]);
    first.release();
    first.release(); // idempotent
    (await second).release();
    expect(order).toEqual(['second']);
    expect([q.running, q.waiting]).toEqual([0, 0]);
  });

  it('drops a waiter whose signal aborts, with the signal reason', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 2 });
    const first = await q.acquire(job('1'));
    const ac = new AbortController();
    const waiting = q.acquire(job('2'), ac.signal);
    const third = q.acquire(job('3'));
    ac.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(q.waiting).toBe(1);
    first.release();
    (await third).release();
    expect(q.running).toBe(0);
  });

  it('refuses an already aborted signal', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 1 });
    await expect(q.acquire(job('1'), AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(q.running).toBe(0);
  });

  it('measures run time on its clock and reports expected times by id', async () => {
    let now = 0;
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 2, maxPerCaller: 2 }, () => now);
    const done = await q.acquire(job('0'));
    now = 5_000;
    done.release({ completed: true });
    expect(q.serviceModel).toMatchObject({ perUnitMs: 50, samples: 1 });

    const running = await q.acquire(job('1'));
    now = 6_000;
    const waiting = q.acquire(job('2', 'token-1'));
    expect(q.outlook()).toEqual(
      new Map([
        ['1', { finishInMs: 4_000 }],
        ['2', { startInMs: 4_000, position: 1, finishInMs: 9_000 }],
      ]),
    );
    expect(q.expectedWaitMs()).toBe(9_000);
    const third = q.acquire(job('3')); // token-0's second place
    const refused = q.acquire(job('4'));
    await expect(refused).rejects.toMatchObject({
      reason: 'caller-limit',
      retryAfterS: 4,
      message: 'this token has 1 requests running and 1 queued, its limit of 2 (SPOOL_MAX_PER_TOKEN); retry in 4 s, when the first of them is expected to finish',
    });
    running.release();
    (await waiting).release();
    (await third).release();
    expect([q.running, q.waiting]).toEqual([0, 0]);
  });
});
