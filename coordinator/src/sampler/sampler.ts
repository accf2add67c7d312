/**
 * The sampler of one request: the timesteps of its N steps and the update from
 * one to the next. The runner drives every sampler through this interface;
 * `createSampler` picks the implementation the manifest's `scheduler.type` names.
 */
import type { SchedulerType } from '@spool/shared';
import { cfgCombine } from './guidance.ts';
import { cachedAlphasCumprod, finalAlphaCumprod, trailingTimesteps, type ScheduleConfig } from './schedule.ts';

export type FloatArray = Float32Array | Float64Array;

/** Standard normal draws for samplers that add noise (the request's seeded `Rng`). */
export interface NoiseSource {
  nextGaussian(): number;
}

export interface Sampler {
  readonly type: SchedulerType;
  readonly steps: number;
  /** The timesteps, descending; step i denoises at `timesteps[i]`. */
  readonly timesteps: readonly number[];
  /** σ of the initial noise. */
  readonly initNoiseSigma: number;
  /**
   * x_prev from x_t and the model's v-prediction at timestep t, in place unless
   * `out` is given. A request's steps go through `timesteps` in order, once each
   * (a multistep sampler keeps what it needs from the step before).
   */
  step<T extends FloatArray>(t: number, sample: T, modelOutput: FloatArray, out?: T): T;
  /** Guidance combine (with its rescale, see `cfgCombine`) then step: the whole sampler update of one timestep. */
  guidedStep<T extends FloatArray>(t: number, sample: T, uncond: FloatArray, cond: FloatArray, guidance: number, rescale?: number): T;
}

/** What every sampler shares: ᾱ, the trailing timesteps, the guidance buffer. */
export abstract class SamplerBase implements Sampler {
  abstract readonly type: SchedulerType;
  readonly timesteps: readonly number[];
  readonly initNoiseSigma = 1;
  protected readonly alphas: Float64Array;
  protected readonly finalAlpha: number;
  /** The guided v of one step, reused across the steps of this request. */
  private guided?: Float64Array;

  constructor(
    protected readonly cfg: ScheduleConfig,
    readonly steps: number,
  ) {
    this.alphas = cachedAlphasCumprod(cfg);
    this.finalAlpha = finalAlphaCumprod(cfg, this.alphas);
    this.timesteps = Object.freeze(trailingTimesteps(cfg.num_train_timesteps, steps));
  }

  abstract step<T extends FloatArray>(t: number, sample: T, modelOutput: FloatArray, out?: T): T;

  guidedStep<T extends FloatArray>(t: number, sample: T, uncond: FloatArray, cond: FloatArray, guidance: number, rescale = 0): T {
    if (this.guided?.length !== sample.length) this.guided = new Float64Array(sample.length);
    const v = cfgCombine(uncond, cond, guidance, this.guided, rescale);
    return this.step(t, sample, v);
  }

  protected checkTimestep(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.cfg.num_train_timesteps) {
      throw new RangeError(`timestep ${t} is outside 0..${this.cfg.num_train_timesteps - 1}`);
    }
  }
}
