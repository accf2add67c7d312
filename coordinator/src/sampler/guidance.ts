/**
 * Classifier-free guidance: the combine of the two branches (with spool's
 * guidance rescale) and the guidance scale of each step (fixed, or CogVideoX's
 * dynamic schedule).
 */
import type { FloatArray } from './sampler.ts';

/**
 * u + g·(c − u), then, with a rescale φ > 0, scaled back towards the spread of
 * the conditional branch: φ·x·std(c)/std(x) + (1 − φ)·x over all values of the
 * video (Lin et al., "Common Diffusion Noise Schedules and Sample Steps are
 * Flawed": with zero terminal SNR, strong guidance otherwise over-saturates).
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

/**
 * CogVideoX's dynamic guidance (`use_dynamic_cfg` of diffusers' CogVideoX
 * pipeline, which the 5B checkpoints are published with):
 * 1 + g·(1 − cos(π·((S − t)/S)⁵))/2 at timestep t of a run of S steps. It is
 * driven by the timestep, not the step index, as in the pipeline and in
 * CogVideoX's own sampler: (S − t)/S runs far below −1, so the scale swings
 * between 1 and 1 + g from step to step rather than rising smoothly (the
 * authors keep it that way, "a wave-like cfg schedule").
 */
export function dynamicGuidanceScale(guidance: number, t: number, steps: number): number {
  return 1 + (guidance * (1 - Math.cos(Math.PI * ((steps - t) / steps) ** 5))) / 2;
}

/** The guidance scale of the step at timestep t: `guidance`, or its dynamic schedule. */
export function guidanceScaleAt(guidance: number, t: number, steps: number, dynamic: boolean): number {
  return dynamic ? dynamicGuidanceScale(guidance, t, steps) : guidance;
}
