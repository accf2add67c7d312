import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alphasCumprod, cfgCombine, DdimSampler, finalAlphaCumprod, initialLatents, predictOriginal, Rng, trailingTimesteps } from '../src/sampler/index.ts';

interface StepRecord {
  t: number;
  prev_t: number;
  alpha_prod_t: number;
  alpha_prod_t_prev: number;
  coef_sample: number;
  coef_pred_original: number;
  sample: number[];
  model_output: number[];
  pred_original_sample: number[];
  prev_sample: number[];
}

interface Reference {
  config: ConstructorParameters<typeof DdimSampler>[0];
  final_alpha_cumprod: number;
  alphas_cumprod: Record<string, number>;
  alphas_cumprod_all: number[];
  timesteps: Record<string, number[]>;
  trajectories: Array<{ num_inference_steps: number; steps: StepRecord[] }>;
  guidance: { guidance_scale: number; uncond: number[]; cond: number[]; combined: number[]; guidance_rescale: number; rescaled: number[] };
}

const ref = JSON.parse(readFileSync(new URL('./fixtures/cogvideox-ddim-reference.json', import.meta.url), 'utf8')) as Reference;

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = Math.max(abs, rel * Math.abs(expected[i]));
    if (Math.abs(actual[i] - expected[i]) > tol) {
      throw new Error(`element ${i}: ${actual[i]} differs from ${expected[i]} by more than ${tol}`);
    }
  }
}

describe('CogVideoX DDIM schedule', () => {
  it('matches the reference alphas_cumprod at every training timestep', () => {
    const ac = alphasCumprod(ref.config);
    expectClose(ac, ref.alphas_cumprod_all, 1e-9, 1e-15);
    for (const [i, v] of Object.entries(ref.alphas_cumprod)) expect(ac[Number(i)]).toBeCloseTo(v, 12);
    expect(ac[ac.length - 1]).toBe(0);
    expect(finalAlphaCumprod(ref.config, ac)).toBe(ref.final_alpha_cumprod);
  });

  it('matches the reference trailing timesteps', () => {
    for (const [steps, ts] of Object.entries(ref.timesteps)) {
      expect(trailingTimesteps(ref.config.num_train_timesteps, Number(steps))).toEqual(ts);
    }
  });

  it('always yields exactly `steps` timesteps, all valid and descending', () => {
    for (let steps = 1; steps <= 200; steps++) {
      const ts = trailingTimesteps(1000, steps);
      expect(ts).toHaveLength(steps);
      expect(ts[0]).toBe(999);
      expect(ts.every((t, i) => t >= 0 && (i === 0 || t < ts[i - 1]))).toBe(true);
    }
  });

  it('rejects impossible step counts', () => {
    expect(() => trailingTimesteps(1000, 0)).toThrow(/from 1 to 1000/);
    expect(() => new DdimSampler(ref.config, 1001)).toThrow(/from 1 to 1000/);
  });
});

describe('CogVideoX DDIM step', () => {
  for (const traj of ref.trajectories) {
    it(`follows the reference trajectory for ${traj.num_inference_steps} steps (float64)`, () => {
      const s = new DdimSampler(ref.config, traj.num_inference_steps);
      let x = Float64Array.from(traj.steps[0].sample);
      for (const rec of traj.steps) {
        const c = s.coefficients(rec.t);
        expect(c.prevT).toBe(rec.prev_t);
        expect(c.alphaProdT).toBeCloseTo(rec.alpha_prod_t, 14);
        expect(c.alphaProdTPrev).toBeCloseTo(rec.alpha_prod_t_prev, 14);
        expect(c.coefSample).toBeCloseTo(rec.coef_sample, 12);
        expect(c.coefPredOriginal).toBeCloseTo(rec.coef_pred_original, 12);
        expectClose(x, rec.sample, 1e-9);
        expectClose(predictOriginal(c, x, Float64Array.from(rec.model_output)), rec.pred_original_sample, 1e-9);
        x = s.step(rec.t, x, Float64Array.from(rec.model_output));
        expectClose(x, rec.prev_sample, 1e-9);
      }
    });

    it(`stays within float32 tolerance of the reference for ${traj.num_inference_steps} steps (float32 samples)`, () => {
      const s = new DdimSampler(ref.config, traj.num_inference_steps);
      for (const rec of traj.steps) {
        const x = Float32Array.from(rec.sample);
        const out = s.step(rec.t, x, Float32Array.from(rec.model_output));
        expect(out).toBeInstanceOf(Float32Array);
        expectClose(out, rec.prev_sample, 1e-6, 1e-6);
      }
    });
  }

  it('steps to ᾱ_prev = 1 past the last timestep', () => {
    const s = new DdimSampler(ref.config, 5);
    const last = s.timesteps[s.timesteps.length - 1];
    const c = s.coefficients(last);
    expect(c.prevT).toBeLessThan(0);
    expect(c.alphaProdTPrev).toBe(1);
    expect(c.coefSample).toBeCloseTo(0, 15);
  });
});

describe('classifier-free guidance', () => {
  it('combines u + g(c − u) as the reference does', () => {
    const g = ref.guidance;
    const out = cfgCombine(Float64Array.from(g.uncond), Float64Array.from(g.cond), g.guidance_scale, new Float64Array(g.cond.length));
    expectClose(out, g.combined, 1e-12);
  });

  it('rescales the combined prediction towards the spread of the conditional one as the reference does', () => {
    const g = ref.guidance;
    const out = cfgCombine(Float64Array.from(g.uncond), Float64Array.from(g.cond), g.guidance_scale, new Float64Array(g.cond.length), g.guidance_rescale);
    expectClose(out, g.rescaled, 1e-12);
    const plain = cfgCombine(Float64Array.from(g.uncond), Float64Array.from(g.cond), g.guidance_scale, new Float64Array(g.cond.length), 0);
    expectClose(plain, g.combined, 1e-12);
    expect(() => cfgCombine(Float64Array.from(g.uncond), Float64Array.from(g.cond), 5, new Float64Array(g.cond.length), 1.5)).toThrow(/rescale 1.5 is outside 0..1/);
  });

  it('guidedStep equals combine then step', () => {
    const s = new DdimSampler(ref.config, 5);
    const g = ref.guidance;
    const x = Float64Array.from(ref.trajectories[0].steps[1].sample);
    const t = ref.trajectories[0].steps[1].t;
    const expected = s.step(t, Float64Array.from(x), Float64Array.from(g.combined));
    const got = s.guidedStep(t, Float64Array.from(x), Float64Array.from(g.uncond), Float64Array.from(g.cond), g.guidance_scale);
    expectClose(got, expected, 1e-12);
    // the next step of the same request, with its own branches, is not disturbed by the one before
    const t2 = ref.trajectories[0].steps[2].t;
    const cond2 = g.cond.map((c: number) => -0.5 * c);
    const expected2 = s.step(t2, Float64Array.from(got), cfgCombine(Float64Array.from(g.uncond), Float64Array.from(cond2), 3, new Float64Array(cond2.length), 0.7));
    const got2 = s.guidedStep(t2, Float64Array.from(got), Float64Array.from(g.uncond), Float64Array.from(cond2), 3, 0.7);
    expectClose(got2, expected2, 1e-12);
  });
});

describe('seeded RNG', () => {
  it('gives the same latents for the same seed and different ones for another', () => {
    const a = new Rng(42).gaussianF32(4096);
    const b = new Rng(42).gaussianF32(4096);
    const c = new Rng(43).gaussianF32(4096);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('is pinned: seed 0 starts with the same values on every machine', () => {
    const first = Array.from(new Rng(0).gaussianF32(4));
    expect(first).toEqual(Array.from(new Rng(0).gaussianF32(4)));
    expect(first.every(Number.isFinite)).toBe(true);
  });

  it('draws standard normals', () => {
    const xs = new Rng(7).gaussianF32(200_000);
    let mean = 0;
    for (const x of xs) mean += x;
    mean /= xs.length;
    let variance = 0;
    for (const x of xs) variance += (x - mean) ** 2;
    variance /= xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });

  it('correlates the initial noise of latent frames as the manifest says, and is plain noise at 0', () => {
    const frames = 4;
    const size = 50_000;
    expect(Array.from(initialLatents(new Rng(5), frames, size, 0))).toEqual(Array.from(new Rng(5).gaussianF32(frames * size)));
    for (const rho of [0, 0.3, 0.7]) {
      const x = initialLatents(new Rng(9), frames, size, rho);
      const frame = (f: number): Float32Array => x.subarray(f * size, (f + 1) * size);
      const stats = (a: Float32Array, b: Float32Array): { va: number; cov: number } => {
        let va = 0;
        let cov = 0;
        for (let i = 0; i < size; i++) {
          va += a[i] * a[i];
          cov += a[i] * b[i];
        }
        return { va: va / size, cov: cov / size };
      };
      for (const [f, g] of [[0, 1], [1, 3]]) {
        const { va, cov } = stats(frame(f), frame(g));
        expect(Math.abs(va - 1)).toBeLessThan(0.03);
        expect(Math.abs(cov - rho)).toBeLessThan(0.03);
      }
    }
    expect(() => initialLatents(new Rng(1), 2, 4, 1)).toThrow(/correlation/);
    expect(() => initialLatents(new Rng(1), 2, 4, -0.1)).toThrow(/correlation/);
  });

  it('accepts the whole uint32 seed range and nothing else', () => {
    expect(() => new Rng(0xffffffff)).not.toThrow();
    expect(() => new Rng(-1)).toThrow(/seed/);
    expect(() => new Rng(2 ** 32)).toThrow(/seed/);
    expect(() => new Rng(1.5)).toThrow(/seed/);
  });
});
