/**
 * "Nice" axis ticks: a step of 1, 2 or 5 times a power of ten, and a range
 * widened to whole steps, so tick labels read 0, 20, 40… rather than 0, 17.3…
 */

export interface Ticks {
  /** First tick, at or below the data's minimum. */
  readonly min: number;
  /** Last tick, at or above the data's maximum. */
  readonly max: number;
  readonly step: number;
  readonly values: readonly number[];
  /** Digits after the decimal point that every tick label needs. */
  readonly decimals: number;
}

/**
 * Ticks covering [lo, hi] with at most `target` intervals (at least one). A
 * zero-width range is widened around its value so that it still gets an axis.
 */
export function niceTicks(lo: number, hi: number, target = 5): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`tick range must be finite numbers, got ${lo}..${hi}`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const intervals = Math.max(1, Math.floor(target));
  let step = niceStep((hi - lo) / intervals);
  let first = Math.floor(lo / step + 1e-9);
  let last = Math.ceil(hi / step - 1e-9);
  // Rounding both ends outwards can add an interval; take the next step up then.
  while (last - first > intervals) {
    step = niceStep(step * 1.0001);
    first = Math.floor(lo / step + 1e-9);
    last = Math.ceil(hi / step - 1e-9);
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const snap = (k: number): number => Number((k * step).toFixed(decimals)) + 0; // + 0 turns -0 into 0
  const values: number[] = [];
  for (let k = first; k <= last; k++) values.push(snap(k));
  return { min: values[0], max: values[values.length - 1], step, values, decimals };
}

/** The smallest of 1, 2, 5 × 10^k that is at least `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  for (const m of [1, 2, 5, 10]) if (m * power >= rough * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/** A tick label with the digits the ticks need, e.g. 0.5 → "0.5" with step 0.5, 40 → "40" with step 20. */
export function formatTick(value: number, ticks: Pick<Ticks, 'decimals'>): string {
  const s = value.toFixed(ticks.decimals);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}
