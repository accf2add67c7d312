/**
 * What a soak run comes to: per process, its RSS over the run and how much it
 * grew from the first tenth of the run to the last; the requests' outcomes
 * and latency; and the line chart's spec. Pure functions of the samples.
 */
import type { LineChartSpec } from './plot/index.ts';
import { percentiles, type Percentiles } from './stats.ts';

/** (seconds since start, RSS in MB) */
export type RssPoint = readonly [number, number];

export interface RssSeries {
  readonly label: string;
  /** Every process that held the label (a restart adds one). */
  readonly pids: readonly number[];
  readonly points: readonly RssPoint[];
}

export interface Growth {
  readonly samples: number;
  /** Mean RSS over the samples of the run's first and last tenth (by time). */
  readonly first_tenth_mb: number;
  readonly last_tenth_mb: number;
  readonly growth_mb: number;
  readonly growth_pct: number;
  readonly min_mb: number;
  readonly max_mb: number;
  /** Least-squares slope over the second half of the run, MB a minute. */
  readonly late_slope_mb_per_min: number;
  /** Whether it grew by at least the thresholds, in MB and in per cent. */
  readonly grew: boolean;
}

export interface GrowthThreshold {
  readonly mb: number;
  readonly pct: number;
}

const r2 = (x: number): number => Math.round(x * 100) / 100;
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Growth of one series over a run from `from` to `to` seconds: the mean of its
 * samples in the last tenth of that span against the first tenth.
 */
export function growth(points: readonly RssPoint[], from: number, to: number, threshold: GrowthThreshold): Growth {
  if (points.length === 0) throw new RangeError('growth needs at least one sample');
  const tenth = (to - from) / 10;
  const inSpan = (lo: number, hi: number): number[] => points.filter(([t]) => t >= lo && t <= hi).map(([, mb]) => mb);
  // A span too short to hold a sample in a tenth falls back to the first and last sample.
  const first = inSpan(from, from + tenth);
  const last = inSpan(to - tenth, to);
  const firstMb = first.length ? mean(first) : points[0][1];
  const lastMb = last.length ? mean(last) : points[points.length - 1][1];
  const grown = lastMb - firstMb;
  const pct = firstMb > 0 ? (grown / firstMb) * 100 : 0;
  const values = points.map(([, mb]) => mb);
  return {
    samples: points.length,
    first_tenth_mb: r2(firstMb),
    last_tenth_mb: r2(lastMb),
    growth_mb: r2(grown),
    growth_pct: r2(pct),
    min_mb: r2(Math.min(...values)),
    max_mb: r2(Math.max(...values)),
    late_slope_mb_per_min: r2(slope(points.filter(([t]) => t >= from + (to - from) / 2)) * 60),
    grew: grown >= threshold.mb && pct >= threshold.pct,
  };
}

/** Least-squares slope of y over x (units of y per unit of x); 0 with fewer than two distinct x. */
export function slope(points: readonly RssPoint[]): number {
  if (points.length < 2) return 0;
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export interface SoakRequest {
  readonly start: number;
  readonly end: number;
  readonly valid: boolean;
  readonly code?: string;
  readonly status: number;
}

export interface SoakSummary {
  readonly sent: number;
  readonly completed: number;
  readonly failed_by_code: Record<string, number>;
  readonly duration_s: number;
  readonly completed_per_s: number;
  readonly latency_s: Percentiles;
  readonly processes: Record<string, Growth & { readonly restarts: number }>;
  /** Labels of the processes that grew. */
  readonly grew: readonly string[];
}

export function summarizeSoak(requests: readonly SoakRequest[], series: readonly RssSeries[], span: { from: number; to: number }, threshold: GrowthThreshold): SoakSummary {
  const completed = requests.filter((r) => r.valid);
  const failed: Record<string, number> = {};
  for (const r of requests.filter((x) => !x.valid)) {
    const key = r.status === 200 ? 'INVALID_MP4' : (r.code ?? `HTTP_${r.status}`);
    failed[key] = (failed[key] ?? 0) + 1;
  }
  const processes: SoakSummary['processes'] = {};
  for (const s of series.filter((x) => x.points.length > 0)) processes[s.label] = { ...growth(s.points, span.from, span.to, threshold), restarts: s.pids.length - 1 };
  const duration = span.to - span.from;
  return {
    sent: requests.length,
    completed: completed.length,
    failed_by_code: failed,
    duration_s: r2(duration),
    completed_per_s: duration > 0 ? r2(completed.length / duration) : 0,
    latency_s: percentiles(completed.map((r) => r.end - r.start)),
    processes,
    grew: Object.entries(processes).filter(([, g]) => g.grew).map(([label]) => label),
  };
}

/** RSS in MB over seconds, one series per process. */
export function soakChart(series: readonly RssSeries[], title: string, subtitle: string): LineChartSpec {
  return {
    title,
    subtitle,
    series: series.filter((s) => s.points.length > 0).map((s) => ({ name: s.label, points: s.points })),
    xLabel: 'seconds since the load started',
    yLabel: 'RSS (MB)',
    yMin: 0,
    width: 1400,
    height: 700,
  };
}
