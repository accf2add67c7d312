/** A DDIM scheduler for one request: the timesteps for N steps and the update from one to the next. */
import type { SchedulerConfig } from '@spool/shared';
import { cfgCombine, ddimCoefficients, ddimStep, type DdimCoefficients, type FloatArray } from './ddim.ts';
import { alphasCumprod, finalAlphaCumprod, trailingTimesteps, type ScheduleConfig } from './schedule.ts';

const tables = new Map<string, Float64Array>();

/** ᾱ for a config, computed once per distinct config. */
function cachedAlphas(cfg: ScheduleConfig): Float64Array {
  const key = JSON.stringify([
    cfg.num_train_timesteps,
    cfg.beta_start,
    cfg.beta_end,
    cfg.snr_shift_scale,
    cfg.rescale_betas_zero_snr,
  ]);
  let ac = tables.get(key);
  if (!ac) {
    ac = alphasCumprod(cfg);
    tables.set(key, ac);
  }
  return ac;
}

export class Scheduler {
  readonly timesteps: readonly number[];
  /** σ of the initial noise (1 for DDIM). */
  readonly initNoiseSigma = 1;
  private readonly alphas: Float64Array;
  private readonly finalAlpha: number;
  /** The guided v of one step, reused across the steps of this request. */
  private guided?: Float64Array;

  constructor(
    private readonly cfg: ScheduleConfig | SchedulerConfig,
    readonly steps: number,
  ) {
    this.alphas = cachedAlphas(cfg);
    this.finalAlpha = finalAlphaCumprod(cfg, this.alphas);
    this.timesteps = Object.freeze(trailingTimesteps(cfg.num_train_timesteps, steps));
  }

  coefficients(t: number): DdimCoefficients {
    if (!Number.isInteger(t) || t < 0 || t >= this.cfg.num_train_timesteps) {
      throw new RangeError(`timestep ${t} is outside 0..${this.cfg.num_train_timesteps - 1}`);
    }
    return ddimCoefficients(this.alphas, this.finalAlpha, this.cfg.num_train_timesteps, this.steps, t);
  }

  /** x_{t−1} from x_t and the model's v-prediction, in place unless `out` is given. */
  step<T extends FloatArray>(t: number, sample: T, modelOutput: FloatArray, out: T = sample): T {
    return ddimStep(this.coefficients(t), sample, modelOutput, out);
  }

  /** Guidance combine (with its rescale, see `cfgCombine`) then step: the whole sampler update of one timestep. */
  guidedStep<T extends FloatArray>(t: number, sample: T, uncond: FloatArray, cond: FloatArray, guidance: number, rescale = 0): T {
    if (this.guided?.length !== sample.length) this.guided = new Float64Array(sample.length);
    const v = cfgCombine(uncond, cond, guidance, this.guided, rescale);
    return this.step(t, sample, v);
  }
}
