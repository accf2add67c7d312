/** CogVideoX's DPM sampler and dynamic guidance against the float64 reference of models/lib/schedule.py. */
import { readFileSync } from 'node:fs';
import type { SchedulerConfig } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import {
  alphasCumprod,
  createSampler,
  DdimSampler,
  DpmSampler,
  dynamicGuidanceScale,
  finalAlphaCumprod,
  guidanceScaleAt,
  Rng,
  trailingTimesteps,
  type DpmCoefficients,
  type NoiseSource,
} from '../src/sampler/index.ts';

/** Infinities and NaN are strings in the fixture (JSON has no number for them). */
type Num = number | 'inf' | '-inf' | 'nan';

interface StepRecord {
  t: number;
  t_back: number | null;
  prev_t: number;
  order: 1 | 2;
  alpha_prod_t: number;
  alpha_prod_t_prev: number;
  alpha_prod_t_back: number | null;
  lambda: Num;
  lambda_next: Num;
  lambda_back: Num | null;
  h: Num;
  r: Num | null;
  mult1: number;
  mult2: number;
  mult3: Num | null;
  mult4: Num | null;
  mult_noise: number;
  uncond?: number[];
  cond?: number[];
  guidance_scale?: number;
  sample: number[];
  model_output: number[];
  noise: number[] | null;
  pred_original_sample: number[];
  prev_sample: number[];
}

interface Trajectory {
  name: string;
  config: SchedulerConfig;
  num_inference_steps: number;
  guidance: { scale: number; dynamic: boolean } | null;
  steps: StepRecord[];
}

interface Reference {
  config: SchedulerConfig;
  final_alpha_cumprod: number;
  alphas_cumprod: Record<string, number>;
  alphas_cumprod_all: number[];
  timesteps: Record<string, number[]>;
  dynamic_guidance: { guidance_scale: number; num_inference_steps: number; timesteps: number[]; scales: number[] };
  trajectories: Trajectory[];
}

const ref = JSON.parse(readFileSync(new URL('./fixtures/cogvideox-dpm-reference.json', import.meta.url), 'utf8')) as Reference;

function num(x: Num | null): number | undefined {
  if (x === null) return undefined;
  return x === 'inf' ? Infinity : x === '-inf' ? -Infinity : x === 'nan' ? NaN : x;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs = 1e-12): number {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const tol = Math.max(abs, rel * Math.abs(expected[i]));
    if (!(err <= tol)) throw new Error(`element ${i}: ${actual[i]} differs from ${expected[i]} by more than ${tol}`);
    worst = Math.max(worst, err / Math.max(Math.abs(expected[i]), 1e-300));
  }
  return worst;
}

/** A coefficient: the same infinity or NaN where the reference has one, else within `rel`. */
function expectCoefficient(name: string, actual: number | undefined, expected: Num | null, rel = 1e-12): void {
  const e = num(expected);
  if (e === undefined || !Number.isFinite(e)) {
    expect(actual, name).toBe(e);
    return;
  }
  expect(actual, name).toBeTypeOf('number');
  if (Math.abs((actual as number) - e) > Math.max(1e-15, rel * Math.abs(e))) throw new Error(`${name}: ${actual} differs from ${e}`);
}

/** Replays the fixture's noise, step by step, and counts what the sampler drew. */
class ReplayNoise implements NoiseSource {
  private next = 0;
  constructor(private readonly values: readonly number[]) {}
  nextGaussian(): number {
    if (this.next >= this.values.length) throw new Error('the sampler drew more noise than the reference');
    return this.values[this.next++];
  }
  get drawn(): number {
    return this.next;
  }
}

const replay = (traj: Trajectory): ReplayNoise => new ReplayNoise(traj.steps.flatMap((s) => s.noise ?? []));

function checkCoefficients(c: DpmCoefficients, rec: StepRecord): void {
  expect(c.t).toBe(rec.t);
  expect(c.tBack).toBe(rec.t_back ?? undefined);
  expect(c.prevT).toBe(rec.prev_t);
  expect(c.order).toBe(rec.order);
  expectCoefficient('alpha_prod_t', c.alphaProdT, rec.alpha_prod_t);
  expectCoefficient('alpha_prod_t_prev', c.alphaProdTPrev, rec.alpha_prod_t_prev);
  expectCoefficient('alpha_prod_t_back', c.alphaProdTBack, rec.alpha_prod_t_back);
  expectCoefficient('lambda', c.lambda, rec.lambda);
  expectCoefficient('lambda_next', c.lambdaNext, rec.lambda_next);
  expectCoefficient('lambda_back', c.lambdaBack, rec.lambda_back);
  expectCoefficient('h', c.h, rec.h);
  expectCoefficient('r', c.r, rec.r);
  for (const k of ['mult1', 'mult2', 'mult3', 'mult4', 'mult_noise'] as const) {
    const key = k === 'mult_noise' ? 'multNoise' : k;
    expectCoefficient(`${k} at t=${rec.t}`, c[key], rec[k]);
  }
}

describe('CogVideoX DPM schedule', () => {
  it('matches the reference alphas_cumprod (5B SNR shift 1) and final alpha', () => {
    const ac = alphasCumprod(ref.config);
    expectClose(ac, ref.alphas_cumprod_all, 1e-9, 1e-15);
    for (const [i, v] of Object.entries(ref.alphas_cumprod)) expect(ac[Number(i)]).toBeCloseTo(v, 12);
    expect(ac[ac.length - 1]).toBe(0);
    expect(finalAlphaCumprod(ref.config, ac)).toBe(ref.final_alpha_cumprod);
  });

  it('matches the reference trailing timesteps', () => {
    for (const [steps, ts] of Object.entries(ref.timesteps)) {
      expect(trailingTimesteps(ref.config.num_train_timesteps, Number(steps))).toEqual(ts);
      expect(new DpmSampler(ref.config, Number(steps), new Rng(0)).timesteps).toEqual(ts);
    }
  });
});

/**
 * The dynamic scale is cos(π·x⁵) with |x⁵| up to 2.5e6 (x = (S − t)/S): one ulp
 * of x⁵ (4.7e-10 there) moves the scale by up to g·π·ulp/2 ≈ 4.4e-9, and V8's
 * `**` is not always correctly rounded where the C library's pow that Python
 * uses is (t = 639 of 50 steps: one ulp apart, the scale 3.4e-10 apart). So the
 * scale is compared within a few of those ulps, and the trajectories are checked
 * with the reference's own scales.
 */
const DYNAMIC_SCALE_ABS = 2e-8;

describe('dynamic guidance', () => {
  it("gives the pipeline's scale at every timestep", () => {
    const d = ref.dynamic_guidance;
    const got = d.timesteps.map((t) => dynamicGuidanceScale(d.guidance_scale, t, d.num_inference_steps));
    expectClose(got, d.scales, 0, DYNAMIC_SCALE_ABS);
    expect(got.every((g) => g >= 1 && g <= 1 + d.guidance_scale)).toBe(true);
    expect(d.timesteps.map((t) => guidanceScaleAt(d.guidance_scale, t, d.num_inference_steps, false))).toEqual(d.timesteps.map(() => d.guidance_scale));
  });
});

describe('CogVideoX DPM step', () => {
  for (const traj of ref.trajectories) {
    it(`follows the reference trajectory: ${traj.name} (float64)`, () => {
      const noise = replay(traj);
      const s = createSampler(traj.config, traj.num_inference_steps, noise) as DpmSampler;
      expect(s).toBeInstanceOf(DpmSampler);
      expect(s.timesteps).toEqual(traj.steps.map((r) => r.t));
      let x = Float64Array.from(traj.steps[0].sample);
      for (const rec of traj.steps) {
        checkCoefficients(s.coefficients(rec.t), rec);
        expectClose(x, rec.sample, 1e-9);
        if (traj.guidance) {
          const g = guidanceScaleAt(traj.guidance.scale, rec.t, traj.num_inference_steps, traj.guidance.dynamic);
          expect(Math.abs(g - (rec.guidance_scale as number))).toBeLessThanOrEqual(traj.guidance.dynamic ? DYNAMIC_SCALE_ABS : 0);
          x = s.guidedStep(rec.t, x, Float64Array.from(rec.uncond as number[]), Float64Array.from(rec.cond as number[]), rec.guidance_scale as number);
        } else {
          x = s.step(rec.t, x, Float64Array.from(rec.model_output));
        }
        expectClose(s.predictedOriginal() as Float64Array, rec.pred_original_sample, 1e-9);
        expectClose(x, rec.prev_sample, 1e-9);
      }
      // one draw per value on every step with noise: all but the last when it steps to ᾱ = 1
      expect(noise.drawn).toBe(traj.steps.filter((r) => r.noise !== null).length * x.length);
      expect(traj.steps.slice(0, -1).every((r) => r.noise !== null)).toBe(true);
      expect(traj.steps.at(-1)?.noise === null).toBe(traj.config.set_alpha_to_one);
      expect(() => s.step(0, x, x)).toThrow(/all \d+ steps are done/);
    });

    it(`stays within float32 tolerance of the reference: ${traj.name} (float32 samples)`, () => {
      const s = createSampler(traj.config, traj.num_inference_steps, replay(traj));
      for (const rec of traj.steps) {
        const out = s.step(rec.t, Float32Array.from(rec.sample), Float32Array.from(rec.model_output));
        expect(out).toBeInstanceOf(Float32Array);
        expectClose(out, rec.prev_sample, 1e-6, 1e-6);
      }
    });
  }

  it('ends on the predicted x₀ and starts from it with zero terminal SNR', () => {
    const traj = ref.trajectories[0];
    const first = traj.steps[0];
    // ᾱ_t = 0: x₀ = −v, and the first step lands on √ᾱ_prev·x₀ + √(1 − ᾱ_prev)·z
    expect(first.pred_original_sample).toEqual(first.model_output.map((v) => -v));
    const last = traj.steps.at(-1) as StepRecord;
    expect(last.prev_sample).toEqual(last.pred_original_sample);
  });

  it('goes through its timesteps in order, once each', () => {
    const s = new DpmSampler(ref.config, 5, new Rng(1));
    const x = new Float64Array(4);
    expect(() => s.step(s.timesteps[1], x, x)).toThrow(/step 1 of 5 is at timestep 999, not 799/);
    s.step(999, x, x);
    expect(() => s.step(999, x, x)).toThrow(/step 2 of 5 is at timestep 799, not 999/);
    expect(() => s.step(799, new Float64Array(5), new Float64Array(5))).toThrow(/changed size/);
    expect(() => s.coefficients(500)).toThrow(/not one of this run's 5 timesteps/);
  });

  it('is seeded: the same seed gives the same samples, another seed others', () => {
    const run = (seed: number): Float32Array => {
      const rng = new Rng(seed);
      const x = rng.gaussianF32(64);
      const s = createSampler(ref.config, 10, rng);
      for (const t of s.timesteps) s.step(t, x, Float32Array.from(x, (v) => 0.3 * v));
      return x;
    };
    expect(Array.from(run(5))).toEqual(Array.from(run(5)));
    expect(Array.from(run(5))).not.toEqual(Array.from(run(6)));
  });
});

describe('createSampler', () => {
  it("makes the sampler the manifest's scheduler.type names", () => {
    const ddim = createSampler({ ...ref.config, type: 'cogvideox-ddim' }, 5, new Rng(0));
    expect(ddim).toBeInstanceOf(DdimSampler);
    expect(ddim.type).toBe('cogvideox-ddim');
    expect(createSampler(ref.config, 5, new Rng(0)).type).toBe('cogvideox-dpm');
    expect(() => createSampler({ ...ref.config, type: 'euler' as SchedulerConfig['type'] }, 5, new Rng(0))).toThrow(/scheduler\.type euler has no sampler/);
  });

  it('draws no noise for DDIM', () => {
    const counting = { draws: 0, nextGaussian: () => (counting.draws++, 0) };
    const s = createSampler({ ...ref.config, type: 'cogvideox-ddim' }, 5, counting);
    const x = new Float64Array(8).fill(0.1);
    for (const t of s.timesteps) s.step(t, x, x);
    expect(counting.draws).toBe(0);
  });
});
