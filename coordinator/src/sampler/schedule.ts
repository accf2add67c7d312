/**
 * The CogVideoX noise schedule, in float64: scaled-linear betas, the SNR shift,
 * the zero-terminal-SNR rescale and trailing timestep spacing (the formulas
 * diffusers' CogVideoXDDIMScheduler and CogVideoXDPMScheduler share).
 */
import type { SchedulerConfig } from '@spool/shared';

/** The part of the manifest's scheduler config the schedule depends on. */
export type ScheduleConfig = Pick<
  SchedulerConfig,
  'num_train_timesteps' | 'beta_start' | 'beta_end' | 'rescale_betas_zero_snr' | 'snr_shift_scale' | 'set_alpha_to_one'
>;

/** betas = linspace(√beta_start, √beta_end, N)²; alphas_cumprod = cumprod(1 − betas). */
export function scaledLinearAlphasCumprod(n: number, betaStart: number, betaEnd: number): Float64Array {
  const out = new Float64Array(n);
  const a = Math.sqrt(betaStart);
  const b = Math.sqrt(betaEnd);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    // numpy's linspace: start + i·step, with the last point exactly the end.
    const root = n === 1 ? a : i === n - 1 ? b : a + (i * (b - a)) / (n - 1);
    prod *= 1 - root * root;
    out[i] = prod;
  }
  return out;
}

/** CogVideoX's SNR shift: the SNR divided by `s`, i.e. ᾱ / (s + (1 − s)·ᾱ). */
export function shiftSnr(alphasCumprod: Float64Array, s: number): Float64Array {
  return alphasCumprod.map((ac) => ac / (s + (1 - s) * ac));
}

/** Rescales so the last timestep has zero SNR (Lin et al. 2024, Algorithm 1, on √ᾱ). */
export function rescaleZeroTerminalSnr(alphasCumprod: Float64Array): Float64Array {
  const n = alphasCumprod.length;
  const s0 = Math.sqrt(alphasCumprod[0]);
  const sT = Math.sqrt(alphasCumprod[n - 1]);
  return alphasCumprod.map((ac) => {
    const s = ((Math.sqrt(ac) - sT) * s0) / (s0 - sT);
    return s * s;
  });
}

/** ᾱ for every training timestep, as the manifest's config describes. */
export function alphasCumprod(cfg: ScheduleConfig): Float64Array {
  let ac = scaledLinearAlphasCumprod(cfg.num_train_timesteps, cfg.beta_start, cfg.beta_end);
  ac = shiftSnr(ac, cfg.snr_shift_scale);
  if (cfg.rescale_betas_zero_snr) ac = rescaleZeroTerminalSnr(ac);
  return ac;
}

const tables = new Map<string, Float64Array>();

/** ᾱ for a config, computed once per distinct schedule (every request of a model shares it; do not write to it). */
export function cachedAlphasCumprod(cfg: ScheduleConfig): Float64Array {
  const key = JSON.stringify([cfg.num_train_timesteps, cfg.beta_start, cfg.beta_end, cfg.snr_shift_scale, cfg.rescale_betas_zero_snr]);
  let ac = tables.get(key);
  if (!ac) {
    ac = alphasCumprod(cfg);
    tables.set(key, ac);
  }
  return ac;
}

/** ᾱ used past the last step (prev_t < 0). */
export function finalAlphaCumprod(cfg: ScheduleConfig, alphas: Float64Array): number {
  return cfg.set_alpha_to_one ? 1 : alphas[0];
}

/** numpy's round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Trailing spacing: round(arange(N, 0, −N/steps)) − 1, descending. */
export function trailingTimesteps(numTrainTimesteps: number, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > numTrainTimesteps) {
    throw new RangeError(`inference steps must be an integer from 1 to ${numTrainTimesteps} (got ${steps})`);
  }
  const stride = numTrainTimesteps / steps;
  const out: number[] = [];
  // N − i·stride for i < steps. (numpy's arange can round one extra value
  // in, e.g. for 61 steps, which would become timestep −1; it is left out.)
  for (let i = 0; i < steps; i++) out.push(roundHalfEven(numTrainTimesteps - i * stride) - 1);
  return out;
}
