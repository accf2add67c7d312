/**
 * One step of CogVideoX's DPM sampler: the formulas of diffusers'
 * CogVideoXDPMScheduler (`get_variables`, `get_mult`, `step`), the second-order
 * multistep SDE solver of DPM-Solver++ in the half log-SNR λ = log √(ᾱ/(1 − ᾱ)),
 * v-prediction. Coefficients in float64; samples in any float array.
 *
 * With zero terminal SNR the first step has ᾱ_t = 0 (λ = −∞, h = ∞) and the
 * last has ᾱ_prev = 1 (λ_next = ∞): the infinities are meant, they make
 * exp(−h) = 0 and give the finite limits (see `models/lib/schedule.py`).
 */
import type { FloatArray, NoiseSource } from './sampler.ts';

export interface DpmCoefficients {
  readonly t: number;
  /** The timestep of the step before (undefined on the first step). */
  readonly tBack: number | undefined;
  readonly prevT: number;
  /** 1 on the first and the last step, 2 on the others (which use the step before's x₀). */
  readonly order: 1 | 2;
  readonly alphaProdT: number;
  readonly alphaProdTPrev: number;
  readonly alphaProdTBack: number | undefined;
  readonly lambda: number;
  readonly lambdaNext: number;
  readonly lambdaBack: number | undefined;
  /** h = λ_next − λ. */
  readonly h: number;
  /** r = (λ − λ_back)/h. */
  readonly r: number | undefined;
  /** √((1 − ᾱ_prev)/(1 − ᾱ_t))·e^(−h): weight of the sample. */
  readonly mult1: number;
  /** expm1(−2h)·√ᾱ_prev: minus the weight of the (corrected) x₀. */
  readonly mult2: number;
  /** 1 + 1/(2r) and 1/(2r): the second-order x₀ is mult3·x₀ − mult4·x₀_back. */
  readonly mult3: number | undefined;
  readonly mult4: number | undefined;
  /** √(1 − ᾱ_prev)·√(1 − e^(−2h)): weight of the fresh noise (0 on the last step). */
  readonly multNoise: number;
}

/** λ = log √(ᾱ/(1 − ᾱ)): −∞ at ᾱ = 0, ∞ at ᾱ = 1. */
export function halfLogSnr(alphaProd: number): number {
  return Math.log(Math.sqrt(alphaProd / (1 - alphaProd)));
}

export function dpmCoefficients(
  alphas: Float64Array,
  finalAlpha: number,
  numTrainTimesteps: number,
  steps: number,
  t: number,
  tBack: number | undefined,
): DpmCoefficients {
  const prevT = t - Math.floor(numTrainTimesteps / steps);
  const alphaProdT = alphas[t];
  const alphaProdTPrev = prevT >= 0 ? alphas[prevT] : finalAlpha;
  const alphaProdTBack = tBack === undefined ? undefined : alphas[tBack];
  const lambda = halfLogSnr(alphaProdT);
  const lambdaNext = halfLogSnr(alphaProdTPrev);
  const h = lambdaNext - lambda;
  const mult1 = Math.sqrt((1 - alphaProdTPrev) / (1 - alphaProdT)) * Math.exp(-h);
  const mult2 = Math.expm1(-2 * h) * Math.sqrt(alphaProdTPrev);
  const multNoise = Math.sqrt(1 - alphaProdTPrev) * Math.sqrt(1 - Math.exp(-2 * h));
  let lambdaBack: number | undefined;
  let r: number | undefined;
  let mult3: number | undefined;
  let mult4: number | undefined;
  if (alphaProdTBack !== undefined) {
    lambdaBack = halfLogSnr(alphaProdTBack);
    r = (lambda - lambdaBack) / h;
    mult3 = 1 + 1 / (2 * r);
    mult4 = 1 / (2 * r);
  }
  const order = tBack !== undefined && prevT >= 0 ? 2 : 1;
  return { t, tBack, prevT, order, alphaProdT, alphaProdTPrev, alphaProdTBack, lambda, lambdaNext, lambdaBack, h, r, mult1, mult2, mult3, mult4, multNoise };
}

/**
 * x₀ = √ᾱ_t·x − √(1 − ᾱ_t)·v; D = x₀ (order 1) or mult3·x₀ − mult4·x₀_back
 * (order 2); x_prev = mult1·x − mult2·D + multNoise·z, with z drawn from
 * `noise` in element order, and only when multNoise > 0. Writes x_prev into
 * `out` (which may be `sample` itself) and x₀ into `x0Out`; returns `out`.
 */
export function dpmStep<T extends FloatArray>(
  c: DpmCoefficients,
  sample: FloatArray,
  modelOutput: FloatArray,
  x0Back: FloatArray | undefined,
  noise: NoiseSource | undefined,
  out: T,
  x0Out: FloatArray,
): T {
  const n = sample.length;
  if (modelOutput.length !== n || out.length !== n || x0Out.length !== n) {
    throw new RangeError(`DPM step: sample (${n}), model output (${modelOutput.length}), out (${out.length}) and x0 (${x0Out.length}) differ in size`);
  }
  const second = c.order === 2;
  if (second && x0Back?.length !== n) throw new RangeError('DPM step: a second-order step needs the x0 of the step before, of the same size');
  const drawn = c.multNoise > 0;
  if (drawn && !noise) throw new RangeError('DPM step: this step adds noise and needs a noise source');
  const sa = Math.sqrt(c.alphaProdT);
  const sb = Math.sqrt(1 - c.alphaProdT);
  const { mult1, mult2, multNoise } = c;
  const mult3 = c.mult3 ?? 1;
  const mult4 = c.mult4 ?? 0;
  for (let i = 0; i < n; i++) {
    const x = sample[i];
    const x0 = sa * x - sb * modelOutput[i];
    const d = second ? mult3 * x0 - mult4 * (x0Back as FloatArray)[i] : x0;
    const prev = mult1 * x - mult2 * d;
    out[i] = drawn ? prev + multNoise * (noise as NoiseSource).nextGaussian() : prev;
    x0Out[i] = x0;
  }
  return out;
}
