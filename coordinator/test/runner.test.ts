import { describe, expect, it } from 'vitest';
import { runGeneration, type GenerationParams } from '../src/pipeline/runner.ts';
import { Rng } from '../src/sampler/rng.ts';
import { Scheduler } from '../src/sampler/scheduler.ts';
import { coordinatorError } from '../src/errors.ts';
import { FakePipeline, manifest, RowwisePipeline } from './helpers.ts';

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
    const s = new Scheduler(manifest.scheduler, 3);
    const x = new Rng(11).gaussianF32(n);
    for (const t of s.timesteps) s.step(t, x, new Float32Array(n).fill(0.5));
    expect(a.calls.latents[0]).toEqual(x);

    const c = new FakePipeline();
    await runGeneration({ pipeline: c, manifest, log: quiet }, { ...params, seed: 12 }, new AbortController().signal);
    expect(c.calls.latents[0]).not.toEqual(a.calls.latents[0]);
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
