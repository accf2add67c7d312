/**
 * The initial latents of a request: standard normal noise whose latent frames
 * share a component. With correlation ρ (the manifest's
 * `scheduler.frame_noise_correlation`, 0 when absent) every element is
 * `σ (√ρ · shared + √(1 − ρ) · own)`: one draw shared by all frames at that
 * position plus one of the frame's own, so each element stays N(0, σ²) and two
 * frames correlate by ρ. A model trained under the same law (the mixed noise
 * prior of PYoCo) starts every frame of a video from a common layout. With ρ = 0
 * this is exactly `rng.gaussianF32(n, σ)`.
 */
import type { Rng } from './rng.ts';

export function initialLatents(rng: Rng, frames: number, frameSize: number, rho: number, sigma = 1): Float32Array {
  if (!(rho >= 0 && rho < 1)) throw new RangeError(`frame noise correlation must be in [0, 1), got ${rho}`);
  if (rho === 0) return rng.gaussianF32(frames * frameSize, sigma);
  const shared = rng.gaussianF32(frameSize);
  const out = rng.gaussianF32(frames * frameSize);
  const a = sigma * Math.sqrt(rho);
  const b = sigma * Math.sqrt(1 - rho);
  for (let f = 0; f < frames; f++) {
    const base = f * frameSize;
    for (let i = 0; i < frameSize; i++) out[base + i] = a * shared[i] + b * out[base + i];
  }
  return out;
}
