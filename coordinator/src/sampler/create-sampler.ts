/** The sampler a manifest's `scheduler.type` names, for one request. */
import type { SchedulerConfig } from '@spool/shared';
import { DdimSampler } from './ddim-sampler.ts';
import { DpmSampler } from './dpm-sampler.ts';
import type { NoiseSource, Sampler } from './sampler.ts';

/**
 * A new sampler for a request of `steps` steps. `noise` is the request's seeded
 * source, drawn from after its initial latents: the DPM sampler adds noise at
 * every step but the last, DDIM draws none.
 */
export function createSampler(config: SchedulerConfig, steps: number, noise: NoiseSource): Sampler {
  const type = config.type;
  switch (type) {
    case 'cogvideox-ddim':
      return new DdimSampler(config, steps);
    case 'cogvideox-dpm':
      return new DpmSampler(config, steps, noise);
    default:
      throw new RangeError(`scheduler.type ${String(type satisfies never)} has no sampler`);
  }
}
