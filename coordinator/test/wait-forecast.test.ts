import { describe, expect, it } from 'vitest';
import { forecastWaits } from '../src/admission/wait-forecast.ts';

describe('forecastWaits', () => {
  it('with a free slot, a newcomer starts now', () => {
    const f = forecastWaits({ slots: 2, now: 100, running: [{ remainingMs: 900 }], waiting: [] });
    expect(f).toEqual({ running: [1000], waiting: [], firstFreeAt: 100, nextStartAt: 100 });
  });

  it('each waiting request takes the slot that frees first, in queue order', () => {
    // Two slots: one frees at 4000, the other at 6000.
    const f = forecastWaits({
      slots: 2,
      now: 1000,
      running: [{ remainingMs: 3000 }, { remainingMs: 5000 }],
      waiting: [{ expectedMs: 3000 }, { expectedMs: 1000 }, { expectedMs: 5000 }],
    });
    expect(f.running).toEqual([4000, 6000]);
    expect(f.waiting).toEqual([
      { startAt: 4000, finishAt: 7000 },
      { startAt: 6000, finishAt: 7000 },
      { startAt: 7000, finishAt: 12000 },
    ]);
    expect(f.firstFreeAt).toBe(4000);
    expect(f.nextStartAt).toBe(7000);
  });

  it('one slot runs the queue back to back', () => {
    const f = forecastWaits({ slots: 1, now: 0, running: [{ remainingMs: 2000 }], waiting: [{ expectedMs: 2000 }, { expectedMs: 2000 }] });
    expect(f.waiting.map((w) => w.startAt)).toEqual([2000, 4000]);
    expect(f.nextStartAt).toBe(6000);
  });

  it('a running request past its expected time is taken to finish now', () => {
    const f = forecastWaits({ slots: 1, now: 9000, running: [{ remainingMs: -5000 }], waiting: [{ expectedMs: 4000 }] });
    expect(f.running).toEqual([9000]);
    expect(f.waiting).toEqual([{ startAt: 9000, finishAt: 13000 }]);
  });

  it('matches a slow, obvious simulation on many slots and a long queue', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 10_000;
    const slots = 5;
    const now = 20_000;
    const running = Array.from({ length: slots }, () => ({ remainingMs: rand() - 5_000 }));
    const waiting = Array.from({ length: 200 }, () => ({ expectedMs: rand() }));
    const f = forecastWaits({ slots, now, running, waiting });

    const free = running.map((r) => Math.max(now, now + r.remainingMs));
    const starts = waiting.map((w) => {
      const i = free.indexOf(Math.min(...free));
      const start = free[i];
      free[i] = start + w.expectedMs;
      return start;
    });
    expect(f.waiting.map((w) => w.startAt)).toEqual(starts);
    expect(f.nextStartAt).toBe(Math.min(...free));
  });
});
