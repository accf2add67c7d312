/** CogVideoX's DDIM sampler (the 2B checkpoints'): deterministic, each step on its own. */
import { ddimCoefficients, ddimStep, type DdimCoefficients } from './ddim.ts';
import { SamplerBase, type FloatArray } from './sampler.ts';

export class DdimSampler extends SamplerBase {
  readonly type = 'cogvideox-ddim';

  coefficients(t: number): DdimCoefficients {
    this.checkTimestep(t);
    return ddimCoefficients(this.alphas, this.finalAlpha, this.cfg.num_train_timesteps, this.steps, t);
  }

  /** x_{t−1} from x_t and the model's v-prediction, in place unless `out` is given. */
  step<T extends FloatArray>(t: number, sample: T, modelOutput: FloatArray, out: T = sample): T {
    return ddimStep(this.coefficients(t), sample, modelOutput, out);
  }
}
