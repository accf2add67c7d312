/**
 * CogVideoX's DPM sampler (the 5B checkpoints'): second order from the second
 * step on, using the x₀ the step before predicted, and stochastic, adding fresh
 * noise from the request's seeded source at every step but the last (the same
 * seed gives the same video).
 */
import { dpmCoefficients, dpmStep, type DpmCoefficients } from './dpm.ts';
import { SamplerBase, type FloatArray, type NoiseSource } from './sampler.ts';
import type { ScheduleConfig } from './schedule.ts';

export class DpmSampler extends SamplerBase {
  readonly type = 'cogvideox-dpm';
  /** Index of the next step. */
  private next = 0;
  /** x₀ of this step and of the step before, swapped after each step. */
  private x0?: Float64Array;
  private x0Back?: Float64Array;

  constructor(
    cfg: ScheduleConfig,
    steps: number,
    private readonly noise: NoiseSource,
  ) {
    super(cfg, steps);
  }

  /** The coefficients of the step at timestep t (one of `timesteps`). */
  coefficients(t: number): DpmCoefficients {
    this.checkTimestep(t);
    const i = this.timesteps.indexOf(t);
    if (i < 0) throw new RangeError(`timestep ${t} is not one of this run's ${this.steps} timesteps`);
    return dpmCoefficients(this.alphas, this.finalAlpha, this.cfg.num_train_timesteps, this.steps, t, i > 0 ? this.timesteps[i - 1] : undefined);
  }

  /** The x₀ the last step predicted (for previews and tests); undefined before the first step. */
  predictedOriginal(): Float64Array | undefined {
    return this.x0Back;
  }

  step<T extends FloatArray>(t: number, sample: T, modelOutput: FloatArray, out: T = sample): T {
    const i = this.next;
    if (i >= this.timesteps.length) throw new RangeError(`DPM sampler: all ${this.steps} steps are done`);
    if (t !== this.timesteps[i]) {
      throw new RangeError(`DPM sampler: step ${i + 1} of ${this.steps} is at timestep ${this.timesteps[i]}, not ${t} (its steps go through the timesteps in order, once each)`);
    }
    if (this.x0?.length !== sample.length) {
      if (i > 0) throw new RangeError(`DPM sampler: the sample changed size (${this.x0?.length} → ${sample.length}) within a run`);
      this.x0 = new Float64Array(sample.length);
      this.x0Back = new Float64Array(sample.length);
    }
    const c = dpmCoefficients(this.alphas, this.finalAlpha, this.cfg.num_train_timesteps, this.steps, t, i > 0 ? this.timesteps[i - 1] : undefined);
    dpmStep(c, sample, modelOutput, this.x0Back, this.noise, out, this.x0);
    [this.x0, this.x0Back] = [this.x0Back as Float64Array, this.x0];
    this.next = i + 1;
    return out;
  }
}
