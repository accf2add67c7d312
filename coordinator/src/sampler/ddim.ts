/**
 * One CogVideoX DDIM step (eta = 0, v-prediction): the formulas of diffusers'
 * CogVideoXDDIMScheduler. Coefficients in float64; samples in any float array.
 */
import type { FloatArray } from './sampler.ts';

export interface DdimCoefficients {
  readonly t: number;
  readonly prevT: number;
  readonly alphaProdT: number;
  readonly alphaProdTPrev: number;
  /** A = √((1 − ᾱ_prev) / (1 − ᾱ_t)): weight of the sample. */
  readonly coefSample: number;
  /** B = √ᾱ_prev − √ᾱ_t·A: weight of the predicted x₀. */
  readonly coefPredOriginal: number;
}

export function ddimCoefficients(
  alphas: Float64Array,
  finalAlpha: number,
  numTrainTimesteps: number,
  steps: number,
  t: number,
): DdimCoefficients {
  const prevT = t - Math.floor(numTrainTimesteps / steps);
  const alphaProdT = alphas[t];
  const alphaProdTPrev = prevT >= 0 ? alphas[prevT] : finalAlpha;
  const coefSample = Math.sqrt((1 - alphaProdTPrev) / (1 - alphaProdT));
  const coefPredOriginal = Math.sqrt(alphaProdTPrev) - Math.sqrt(alphaProdT) * coefSample;
  return { t, prevT, alphaProdT, alphaProdTPrev, coefSample, coefPredOriginal };
}

/**
 * x₀ = √ᾱ_t·x − √(1 − ᾱ_t)·v; x_prev = A·x + B·x₀. Writes into `out` (which
 * may be `sample` itself) and returns it.
 */
export function ddimStep<T extends FloatArray>(c: DdimCoefficients, sample: FloatArray, modelOutput: FloatArray, out: T): T {
  if (sample.length !== modelOutput.length || out.length !== sample.length) {
    throw new RangeError(`DDIM step: sample (${sample.length}), model output (${modelOutput.length}) and out (${out.length}) differ in size`);
  }
  const sa = Math.sqrt(c.alphaProdT);
  const sb = Math.sqrt(1 - c.alphaProdT);
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i];
    const x0 = sa * x - sb * modelOutput[i];
    out[i] = c.coefSample * x + c.coefPredOriginal * x0;
  }
  return out;
}

/** The predicted clean sample x₀ for one step (for previews and tests). */
export function predictOriginal(c: DdimCoefficients, sample: FloatArray, modelOutput: FloatArray): Float64Array {
  const sa = Math.sqrt(c.alphaProdT);
  const sb = Math.sqrt(1 - c.alphaProdT);
  return Float64Array.from(sample, (x, i) => sa * x - sb * modelOutput[i]);
}
