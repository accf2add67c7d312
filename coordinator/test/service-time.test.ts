import { describe, expect, it } from 'vitest';
import { FADE, PRIOR_MS_PER_STEP_FRAME, ServiceTime } from '../src/admission/service-time.ts';

describe('ServiceTime', () => {
  it('uses the prior until a request finishes, then forgets it', () => {
    const s = new ServiceTime();
    expect(s.model()).toEqual({ fixedMs: 0, perUnitMs: PRIOR_MS_PER_STEP_FRAME, samples: 0 });
    expect(s.expectMs(390)).toBe(390 * PRIOR_MS_PER_STEP_FRAME);
    s.observe(120, 4_000);
    expect(s.expectMs(120)).toBeCloseTo(4_000);
    expect(s.expectMs(240)).toBeCloseTo(8_000);
  });

  it('with requests of one size, expects their (recent-weighted) mean run time', () => {
    const s = new ServiceTime();
    s.observe(100, 2_000);
    s.observe(100, 4_000);
    // The older weighs FADE, the newer 1.
    expect(s.expectMs(100)).toBeCloseTo((FADE * 2_000 + 4_000) / (FADE + 1));
    for (let i = 0; i < 200; i++) s.observe(100, 3_000);
    expect(s.expectMs(100)).toBeCloseTo(3_000);
  });

  it('fits a fixed part and a part per step-frame when sizes differ', () => {
    const s = new ServiceTime();
    // 500 ms whatever the size, plus 10 ms per step-frame.
    for (const work of [30, 400, 90, 200, 30, 400]) s.observe(work, 500 + 10 * work);
    const m = s.model();
    expect(m.fixedMs).toBeCloseTo(500);
    expect(m.perUnitMs).toBeCloseTo(10);
    expect(s.expectMs(1000)).toBeCloseTo(10_500);
  });

  it('falls back to a ratio when the fitted fixed part is negative, and to the mean when run time falls with size', () => {
    const ratio = new ServiceTime();
    ratio.observe(100, 100);
    ratio.observe(400, 1_000);
    expect(ratio.model().fixedMs).toBe(0);
    expect(ratio.model().perUnitMs).toBeCloseTo((FADE * 100 + 1_000) / (FADE * 100 + 400));

    const flat = new ServiceTime();
    flat.observe(100, 3_000);
    flat.observe(400, 1_000);
    expect(flat.model().perUnitMs).toBe(0);
    expect(flat.expectMs(10_000)).toBeCloseTo((FADE * 3_000 + 1_000) / (FADE + 1));
  });

  it('ignores nonsense', () => {
    const s = new ServiceTime(5);
    s.observe(0, 1_000);
    s.observe(100, Number.NaN);
    s.observe(100, -1);
    expect(s.model()).toEqual({ fixedMs: 0, perUnitMs: 5, samples: 0 });
  });
});
