/**
 * One CogVideoX DDIM step (eta = 0, v-prediction) and the classifier-free
 * guidance combine. Coefficients in float64; samples in any float array.
 */

export type FloatArray = Float32Array | Float64Array;

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

/**
 * Classifier-free guidance: u + g·(c − u), then, with a rescale φ > 0, scaled back
 * towards the spread of the conditional branch: φ·x·std(c)/std(x) + (1 − φ)·x over
 * all values of the video (Lin et al., "Common Diffusion Noise Schedules and Sample
 * Steps are Flawed": with zero terminal SNR, strong guidance otherwise over-saturates).
 * Writes into `out` and returns it.
 */
export function cfgCombine<T extends FloatArray>(uncond: FloatArray, cond: FloatArray, guidance: number, out: T, rescale = 0): T {
  if (uncond.length !== cond.length || out.length !== cond.length) {
    throw new RangeError(`guidance: the two branches (${uncond.length}, ${cond.length}) and out (${out.length}) differ in size`);
  }
  if (!(rescale >= 0 && rescale <= 1)) throw new RangeError(`guidance rescale ${rescale} is outside 0..1`);
  for (let i = 0; i < cond.length; i++) {
    const u = uncond[i];
    out[i] = u + guidance * (cond[i] - u);
  }
  if (rescale > 0) {
    const spread = std(out);
    const factor = spread > 0 ? rescale * (std(cond) / spread) + (1 - rescale) : 1;
    for (let i = 0; i < out.length; i++) out[i] *= factor;
  }
  return out;
}

/** Standard deviation over all values (the ratio of two of them is what guidance rescale uses). */
function std(x: FloatArray): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i];
  const mean = sum / x.length;
  let sq = 0;
  for (let i = 0; i < x.length; i++) sq += (x[i] - mean) ** 2;
  return Math.sqrt(sq / x.length);
}
