export { createSampler } from './create-sampler.ts';
export { ddimCoefficients, ddimStep, predictOriginal, type DdimCoefficients } from './ddim.ts';
export { DdimSampler } from './ddim-sampler.ts';
export { dpmCoefficients, dpmStep, halfLogSnr, type DpmCoefficients } from './dpm.ts';
export { DpmSampler } from './dpm-sampler.ts';
export { cfgCombine, dynamicGuidanceScale, guidanceScaleAt } from './guidance.ts';
export { initialLatents } from './noise.ts';
export { randomSeed, Rng } from './rng.ts';
export { SamplerBase, type FloatArray, type NoiseSource, type Sampler } from './sampler.ts';
export {
  alphasCumprod,
  cachedAlphasCumprod,
  finalAlphaCumprod,
  rescaleZeroTerminalSnr,
  scaledLinearAlphasCumprod,
  shiftSnr,
  trailingTimesteps,
  type ScheduleConfig,
} from './schedule.ts';
