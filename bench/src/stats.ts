/** Timing helpers: run a bounded number of times, report the median. */

export interface Timing {
  readonly runs: number;
  readonly median_ms: number;
  readonly min_ms: number;
  readonly max_ms: number;
}

export async function time(runs: number, fn: () => Promise<unknown>, warmup = 1): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x * 100) / 100;
  return { runs, median_ms: round(samples[Math.floor(samples.length / 2)]), min_ms: round(samples[0]), max_ms: round(samples[samples.length - 1]) };
}

export const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles of `values` (in their unit, rounded to 3 decimals); zeros when there are none. */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { count: sorted.length, p50: r(at(50)), p90: r(at(90)), p99: r(at(99)), max: r(sorted.at(-1) ?? 0) };
}
