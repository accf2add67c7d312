import { describe, expect, it } from 'vitest';
import { AdmissionQueue, AdmissionState, QueueFullError } from '../src/scheduler/admission.ts';

describe('AdmissionState (pure decisions)', () => {
  it('runs up to the limit, queues up to the bound, then rejects', () => {
    const s = new AdmissionState<string>({ maxConcurrent: 2, maxQueue: 2 });
    expect(s.offer('a')).toEqual({ kind: 'run' });
    expect(s.offer('b')).toEqual({ kind: 'run' });
    expect(s.offer('c')).toEqual({ kind: 'wait', position: 1 });
    expect(s.offer('d')).toEqual({ kind: 'wait', position: 2 });
    expect(s.offer('e')).toMatchObject({ kind: 'reject' });
    expect([s.runningCount, s.waitingCount]).toEqual([2, 2]);
  });

  it('starts waiters in arrival order as slots free', () => {
    const s = new AdmissionState<string>({ maxConcurrent: 1, maxQueue: 5 });
    s.offer('a');
    s.offer('b');
    s.offer('c');
    expect(s.leave('a', 1)).toEqual(['b']);
    expect(s.leave('b', 1)).toEqual(['c']);
    expect(s.leave('c', 1)).toEqual([]);
  });

  it('lets a waiter leave the queue without starting anything', () => {
    const s = new AdmissionState<string>({ maxConcurrent: 1, maxQueue: 5 });
    s.offer('a');
    s.offer('b');
    s.offer('c');
    expect(s.leave('b')).toEqual([]);
    expect(s.leave('a', 1)).toEqual(['c']);
  });

  it('does not let a newcomer jump the queue', () => {
    const s = new AdmissionState<string>({ maxConcurrent: 1, maxQueue: 5 });
    s.offer('a');
    s.offer('b');
    s.leave('b');
    s.offer('c');
    expect(s.offer('d')).toEqual({ kind: 'wait', position: 2 });
  });

  it('suggests a Retry-After from observed run times', () => {
    const s = new AdmissionState<string>({ maxConcurrent: 1, maxQueue: 0 });
    for (let i = 0; i < 50; i++) {
      s.offer(`r${i}`);
      s.leave(`r${i}`, 2);
    }
    s.offer('x');
    const r = s.offer('y');
    expect(r).toEqual({ kind: 'reject', retryAfterS: 2 });
  });

  it('with maxQueue 0 rejects as soon as every slot is busy', () => {
    const s = new AdmissionState<string>({ maxConcurrent: 1, maxQueue: 0 });
    s.offer('a');
    expect(s.offer('b').kind).toBe('reject');
  });
});

describe('AdmissionQueue', () => {
  it('hands out slots in order and rejects when full', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 1 });
    const first = await q.acquire();
    const order: string[] = [];
    const second = q.acquire().then((s) => {
      order.push('second');
      return s;
    });
    await expect(q.acquire()).rejects.toBeInstanceOf(QueueFullError);
    expect([q.running, q.waiting]).toEqual([1, 1]);
    first.release();
    first.release(); // idempotent
    (await second).release();
    expect(order).toEqual(['second']);
    expect([q.running, q.waiting]).toEqual([0, 0]);
  });

  it('drops a waiter whose signal aborts, with the signal reason', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 2 });
    const first = await q.acquire();
    const ac = new AbortController();
    const waiting = q.acquire(ac.signal);
    const third = q.acquire();
    ac.abort(new Error('client went away'));
    await expect(waiting).rejects.toThrow('client went away');
    expect(q.waiting).toBe(1);
    first.release();
    (await third).release();
    expect(q.running).toBe(0);
  });

  it('refuses an already aborted signal', async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueue: 1 });
    await expect(q.acquire(AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(q.running).toBe(0);
  });
});
