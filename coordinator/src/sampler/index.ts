export { cfgCombine, ddimCoefficients, ddimStep, predictOriginal, type DdimCoefficients, type FloatArray } from './ddim.ts';
export { initialLatents } from './noise.ts';
export { randomSeed, Rng } from './rng.ts';
export {
  alphasCumprod,
  finalAlphaCumprod,
  rescaleZeroTerminalSnr,
  scaledLinearAlphasCumprod,
  shiftSnr,
  trailingTimesteps,
  type ScheduleConfig,
} from './schedule.ts';
export { Scheduler } from './scheduler.ts';
