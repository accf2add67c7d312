import { tensor, type ModelManifest, type Tensor } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { runGeneration, type GenerationParams } from '../src/pipeline/runner.ts';
import { Rng } from '../src/sampler/rng.ts';
import { DdimSampler } from '../src/sampler/ddim-sampler.ts';
import { createSampler } from '../src/sampler/create-sampler.ts';
import { dynamicGuidanceScale } from '../src/sampler/guidance.ts';
import { coordinatorError } from '../src/errors.ts';
import { FakePipeline, manifest, RowwisePipeline } from './helpers.ts';

/** The test model with CogVideoX-5B's sampler: DPM, SNR shift 1. */
const dpmManifest: ModelManifest = { ...manifest, scheduler: { ...manifest.scheduler, type: 'cogvideox-dpm', snr_shift_scale: 1 } };

/** A denoiser that answers 0 for the unconditional row and 1 for the prompt's: the guided v is then the step's guidance scale. */
class BranchPipeline extends FakePipeline {
  override async denoise(sample: Tensor<'float32'>, text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>> {
    await super.denoise(sample, text, timestep, signal);
    const half = sample.data.length / 2;
    return tensor('float32', sample.shape, Float32Array.from(sample.data, (_, i) => (i < half ? 0 : 1)));
  }
}

const quiet = { debug: () => undefined, info: () => undefined };
const params: GenerationParams = { prompt: 'a fox', numFrames: 9, fps: 8, guidanceScale: 5, guidanceRescale: 0, steps: 3, seed: 11 };

describe('runGeneration', () => {
  it('is deterministic for a seed and follows the sampler exactly', async () => {
    const a = new FakePipeline();
    const b = new FakePipeline();
    await runGeneration({ pipeline: a, manifest, log: quiet }, params, new AbortController().signal);
    await runGeneration({ pipeline: b, manifest, log: quiet }, params, new AbortController().signal);
    expect(a.calls.latents[0]).toEqual(b.calls.latents[0]);

    // The fake answers v = 0.5 for both branches, so guidance leaves v at 0.5.
    const n = a.calls.latents[0].length;
    expect(n).toBe(3 * 2 * 2 * 2); // 9 frames → 3 latent frames, C=2, 8/4 × 8/4
    const s = new DdimSampler(manifest.scheduler, 3);
    const x = new Rng(11).gaussianF32(n);
    for (const t of s.timesteps) s.step(t, x, new Float32Array(n).fill(0.5));
    expect(a.calls.latents[0]).toEqual(x);

    const c = new FakePipeline();
    await runGeneration({ pipeline: c, manifest, log: quiet }, { ...params, seed: 12 }, new AbortController().signal);
    expect(c.calls.latents[0]).not.toEqual(a.calls.latents[0]);
  });

  it("runs the sampler the manifest names, drawing its noise from the request's seed", async () => {
    const run = async (seed: number): Promise<Float32Array> => {
      const p = new FakePipeline();
      await runGeneration({ pipeline: p, manifest: dpmManifest, log: quiet }, { ...params, seed, steps: 5 }, new AbortController().signal);
      return p.calls.latents[0];
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);

    // The initial latents, then the DPM steps' noise, all from one Rng of the seed.
    const rng = new Rng(11);
    const x = rng.gaussianF32(a.length);
    const s = createSampler(dpmManifest.scheduler, 5, rng);
    expect(s.type).toBe('cogvideox-dpm');
    for (const t of s.timesteps) s.step(t, x, new Float32Array(a.length).fill(0.5));
    expect(a).toEqual(x);
    const ddim = new FakePipeline();
    await runGeneration({ pipeline: ddim, manifest, log: quiet }, { ...params, seed: 11, steps: 5 }, new AbortController().signal);
    expect(ddim.calls.latents[0]).not.toEqual(a);
  });

  it("guides with the manifest's dynamic schedule when defaults.use_dynamic_cfg says so", async () => {
    const run = async (m: ModelManifest): Promise<Float32Array> => {
      const p = new BranchPipeline();
      await runGeneration({ pipeline: p, manifest: m, log: quiet }, { ...params, steps: 4 }, new AbortController().signal);
      return p.calls.latents[0];
    };
    const replay = (scale: (t: number) => number): Float32Array => {
      const x = new Rng(params.seed).gaussianF32(24);
      const s = new DdimSampler(manifest.scheduler, 4);
      for (const t of s.timesteps) s.step(t, x, new Float64Array(x.length).fill(scale(t)));
      return x;
    };
    const fixed = await run(manifest);
    expect(fixed).toEqual(replay(() => params.guidanceScale));
    expect(await run({ ...manifest, defaults: { ...manifest.defaults, use_dynamic_cfg: false } })).toEqual(fixed);
    const dynamic = await run({ ...manifest, defaults: { ...manifest.defaults, use_dynamic_cfg: true } });
    expect(dynamic).toEqual(replay((t) => dynamicGuidanceScale(params.guidanceScale, t, 4)));
    expect(dynamic).not.toEqual(fixed);
  });

  it('applies the guidance rescale it is given', async () => {
    const run = async (guidanceRescale: number) => {
      const p = new RowwisePipeline();
      await runGeneration({ pipeline: p, manifest, log: quiet }, { ...params, guidanceRescale }, new AbortController().signal);
      return p.calls.latents[0];
    };
    const plain = await run(0);
    expect(await run(0)).toEqual(plain);
    const rescaled = await run(0.7);
    expect(rescaled).toHaveLength(plain.length);
    expect(rescaled).not.toEqual(plain);
  });

  it('stops between steps when aborted and reports why', async () => {
    const p = new FakePipeline();
    const ac = new AbortController();
    p.hooks.denoise = (step) => {
      if (step === 2) ac.abort(coordinatorError('SPOOL_ERR_DEADLINE', 'too slow'));
    };
    const err = await runGeneration({ pipeline: p, manifest, log: quiet }, { ...params, steps: 10 }, ac.signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SPOOL_ERR_DEADLINE', status: 504 });
    expect(p.calls.denoise).toHaveLength(2);
    expect(p.calls.decode).toHaveLength(0);
  });

  it('reports each phase and step, and logs progress every ~10% from 20 steps', async () => {
    const lines: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const log = { debug: () => undefined, info: (obj: object, msg?: string) => void lines.push({ obj: obj as Record<string, unknown>, msg }) };
    const seen: string[] = [];
    const onProgress = (p: { phase: string; step: number; steps: number }) => seen.push(`${p.phase} ${p.step}/${p.steps}`);
    await runGeneration({ pipeline: new FakePipeline(), manifest, log, onProgress, requestId: 'req-1' }, { ...params, steps: 20 }, new AbortController().signal);
    expect(seen[0]).toBe('encoding 0/20');
    expect(seen[1]).toBe('denoising 0/20');
    expect(seen.filter((s) => s.startsWith('denoising'))).toHaveLength(21);
    expect(seen.at(-1)).toBe('decoding 20/20');

    const progress = lines.filter((l) => l.obj.step !== undefined);
    expect(progress.map((l) => l.obj.step)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(progress[0].obj).toMatchObject({ id: 'req-1', steps: 20 });
    expect(progress[0].msg).toMatch(/^req-1: step 2\/20, \d+\.\d s$/);

    lines.length = 0;
    await runGeneration({ pipeline: new FakePipeline(), manifest, log }, { ...params, steps: 19 }, new AbortController().signal);
    expect(lines.filter((l) => l.obj.step !== undefined)).toHaveLength(0);

    lines.length = 0;
    await runGeneration({ pipeline: new FakePipeline(), manifest, log }, { ...params, steps: 25 }, new AbortController().signal);
    expect(lines.filter((l) => l.obj.step !== undefined).map((l) => l.obj.step)).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 25]);
  });
});
