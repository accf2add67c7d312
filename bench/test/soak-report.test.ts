/**
 * The soak run's report from samples made by hand: growth from the first
 * tenth of the run to the last (flat, leaking, a garbage-collector sawtooth),
 * the late slope, and the summary's outcomes and chart.
 */
import { describe, expect, it } from 'vitest';
import { layoutLineChart } from '../src/plot/index.ts';
import { growth, slope, soakChart, summarizeSoak, type RssPoint } from '../src/soak-report.ts';

const threshold = { mb: 5, pct: 5 };
const series = (n: number, f: (t: number) => number): RssPoint[] => Array.from({ length: n }, (_, t) => [t, f(t)] as const);

describe('growth', () => {
  it('finds nothing in a flat series', () => {
    const g = growth(series(200, () => 150), 0, 199, threshold);
    expect(g).toMatchObject({ samples: 200, first_tenth_mb: 150, last_tenth_mb: 150, growth_mb: 0, growth_pct: 0, late_slope_mb_per_min: 0, grew: false });
  });

  it('finds a steady leak: the last tenth above the first by the leak over nine tenths of the run', () => {
    // 100 MB growing by 0.1 MB a second over 200 s.
    const g = growth(series(201, (t) => 100 + 0.1 * t), 0, 200, threshold);
    expect(g.first_tenth_mb).toBeCloseTo(101, 5);
    expect(g.last_tenth_mb).toBeCloseTo(119, 5);
    expect(g.growth_mb).toBeCloseTo(18, 5);
    expect(g.late_slope_mb_per_min).toBeCloseTo(6, 5);
    expect(g.grew).toBe(true);
  });

  it('does not call growth below either threshold growth', () => {
    // +4 MB on 100 MB: over 3 %, under 5 MB.
    expect(growth(series(201, (t) => 100 + 0.02 * t), 0, 200, threshold).grew).toBe(false);
    // +6 MB on 400 MB: over 5 MB, under 5 %.
    expect(growth(series(201, (t) => 400 + 0.03 * t), 0, 200, threshold).grew).toBe(false);
  });

  it('does not take a collector sawtooth with a steady floor for growth', () => {
    // 180..220 MB every 20 s: each tenth holds one whole tooth.
    const g = growth(series(200, (t) => 180 + 2 * (t % 20)), 0, 200, threshold);
    expect(Math.abs(g.growth_mb)).toBeLessThan(1);
    expect(g).toMatchObject({ min_mb: 180, max_mb: 218, grew: false });
  });

  it('falls back to the first and last sample when a tenth holds none', () => {
    expect(growth([[0, 10], [100, 30]], 0, 100, threshold)).toMatchObject({ first_tenth_mb: 10, last_tenth_mb: 30, growth_mb: 20 });
    expect(() => growth([], 0, 1, threshold)).toThrow(RangeError);
  });
});

describe('slope', () => {
  it('is the least-squares slope, 0 without two distinct x', () => {
    expect(slope([[0, 1], [1, 3], [2, 5]])).toBeCloseTo(2, 10);
    expect(slope([[0, 4], [1, 2], [2, 6], [3, 4]])).toBeCloseTo(0.4, 10);
    expect(slope([[5, 1]])).toBe(0);
    expect(slope([[5, 1], [5, 3]])).toBe(0);
  });
});

describe('summarizeSoak', () => {
  const requests = [
    { start: 0, end: 1, valid: true, status: 200 },
    { start: 1, end: 4, valid: true, status: 200 },
    { start: 2, end: 2.5, valid: false, status: 200 },
    { start: 3, end: 3.1, valid: false, status: 503, code: 'SPOOL_ERR_STAGE_UNAVAILABLE' },
  ];
  const rss = [
    { label: 'coordinator', pids: [10], points: series(101, (t) => 200 + 0.2 * t) },
    { label: 'denoise.0', pids: [11, 12], points: series(101, () => 250) },
    { label: 'ffmpeg-never-sampled', pids: [], points: [] },
  ];

  it('counts outcomes, latency and each process growth, and names the ones that grew', () => {
    const s = summarizeSoak(requests, rss, { from: 0, to: 100 }, threshold);
    expect(s).toMatchObject({ sent: 4, completed: 2, failed_by_code: { INVALID_MP4: 1, SPOOL_ERR_STAGE_UNAVAILABLE: 1 }, duration_s: 100, completed_per_s: 0.02 });
    expect(s.latency_s).toMatchObject({ count: 2, p50: 1, max: 3 });
    expect(Object.keys(s.processes)).toEqual(['coordinator', 'denoise.0']);
    expect(s.processes['denoise.0']).toMatchObject({ growth_mb: 0, restarts: 1, grew: false });
    expect(s.processes.coordinator.grew).toBe(true);
    expect(s.grew).toEqual(['coordinator']);
  });

  it('charts one series per sampled process', () => {
    const spec = soakChart(rss, 'soak', 'no process grew');
    expect(spec.series.map((x) => x.name)).toEqual(['coordinator', 'denoise.0']);
    expect(layoutLineChart(spec).legend.map((l) => l.entry.label)).toEqual(['coordinator', 'denoise.0']);
  });
});
