/** Step batching through the request runner, with a row-wise fake pipeline (no NATS). */
import { wireError } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { runGeneration, type GenerationParams } from '../src/pipeline/runner.ts';
import { countRetry, withTallies, type RetryTally } from '../src/pipeline/retry-tally.ts';
import { StepBatcher } from '../src/batching/step-batcher.ts';
import { DdimSampler } from '../src/sampler/ddim-sampler.ts';
import { manifest, RowwisePipeline } from './helpers.ts';

const quiet = { debug: () => undefined, info: () => undefined };
const jobs: GenerationParams[] = [
  { prompt: 'a fox in snow', numFrames: 9, fps: 8, guidanceScale: 5, guidanceRescale: 0, steps: 3, seed: 11 },
  { prompt: 'a boat at dusk', negativePrompt: 'blurry', numFrames: 9, fps: 9, guidanceScale: 7, guidanceRescale: 0.7, steps: 4, seed: 12 },
  { prompt: 'rain on a window', numFrames: 9, fps: 10, guidanceScale: 3, guidanceRescale: 0, steps: 5, seed: 13 },
];

/** The latents each request decoded, by fps (unique per job). */
function latentsByFps(p: RowwisePipeline): Map<number, Float32Array> {
  return new Map(p.calls.decode.map((v, i) => [v.fps, p.calls.latents[i]]));
}

async function alone(job: GenerationParams): Promise<Float32Array> {
  const p = new RowwisePipeline();
  await runGeneration({ pipeline: p, manifest, log: quiet }, job, new AbortController().signal);
  return p.calls.latents[0];
}

const rows = (p: RowwisePipeline): number[] => p.calls.denoise.map((c) => c.shape[0]);
const signal = (): AbortSignal => new AbortController().signal;

describe('step batching in the runner', () => {
  it('merges concurrent requests of one shape into fewer calls, with bit-identical latents', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 50, maxBatch: 4 });
    await Promise.all(jobs.map((job) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, signal())));

    // 3 + 4 + 5 request-steps in 5 calls: three together, then two, then the longest alone.
    expect(rows(p)).toEqual([6, 6, 6, 4, 2]);
    expect(batcher.stats).toEqual({ calls: 5, merged: 4, requestSteps: 12 });
    // Each row pair carries its own request's timestep (the step counts differ).
    const ts = jobs.map((j) => new DdimSampler(manifest.scheduler, j.steps).timesteps[1]);
    expect(p.calls.denoise[1].timestep).toEqual(ts.flatMap((t) => [t, t]));
    expect(new Set(ts).size).toBe(3);

    const got = latentsByFps(p);
    for (const job of jobs) expect(got.get(job.fps), `fps ${job.fps}`).toEqual(await alone(job));
  });

  it('never merges different latent shapes (8 and 49 frames)', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 50, maxBatch: 4 });
    const mixed = [
      { ...jobs[0], numFrames: 8, fps: 8, steps: 3 },
      { ...jobs[1], numFrames: 49, fps: 9, steps: 3 },
      { ...jobs[2], numFrames: 8, fps: 10, steps: 3 },
    ];
    await Promise.all(mixed.map((job) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, signal())));
    // Per step: the two 8-frame requests together (3 latent frames), the 49-frame one alone (13).
    expect(p.calls.denoise.map((c) => `${c.shape[0]}x${c.shape[1]}`).sort()).toEqual(['2x13', '2x13', '2x13', '4x3', '4x3', '4x3']);
    const got = latentsByFps(p);
    for (const job of mixed) expect(got.get(job.fps)).toEqual(await alone(job));
  });

  it('sends a lone request at once, one call per step, whatever the window', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 60_000, maxBatch: 4 });
    const started = performance.now();
    await runGeneration({ pipeline: p, manifest, log: quiet, batcher }, jobs[0], signal());
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(rows(p)).toEqual([2, 2, 2]);
    expect(p.calls.latents[0]).toEqual(await alone(jobs[0]));
  });

  it('with window 0 sends every call alone', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 0, maxBatch: 4 });
    await Promise.all(jobs.map((job) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, signal())));
    expect(rows(p).every((r) => r === 2)).toBe(true);
    expect(batcher.stats.merged).toBe(0);
  });

  it('does not wait past the window for a request that is slow to encode', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 5, maxBatch: 4 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let encodes = 0;
    p.hooks.encode = () => (++encodes === 2 ? gate : undefined);
    const first = runGeneration({ pipeline: p, manifest, log: quiet, batcher }, jobs[0], signal());
    const second = runGeneration({ pipeline: p, manifest, log: quiet, batcher }, jobs[1], signal());
    await first; // all three steps went alone, each after the window
    expect(rows(p)).toEqual([2, 2, 2]);
    open();
    await second;
    expect(latentsByFps(p).get(jobs[0].fps)).toEqual(await alone(jobs[0]));
  });

  it('fails every request of a merged call with the same error', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 50, maxBatch: 4 });
    const boom = wireError('SPOOL_ERR_MODEL', 'denoise.1: onnxruntime failed', { stage: 'denoise.1' });
    p.hooks.denoise = (n) => {
      if (n === 2) throw boom;
    };
    const results = await Promise.allSettled(jobs.map((job) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, signal())));
    expect(rows(p)).toEqual([6, 6]);
    for (const r of results) expect(r).toEqual({ status: 'rejected', reason: boom });
    expect(p.calls.decode).toHaveLength(0);
  });

  it('takes a request aborted before sending out of its batch', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 60_000, maxBatch: 4 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let encodes = 0;
    p.hooks.encode = () => (++encodes === 3 ? gate : undefined);
    const acs = jobs.map(() => new AbortController());
    const runs = jobs.map((job, i) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, acs[i].signal));
    // The first two wait for the third, still encoding; the second is aborted meanwhile.
    await new Promise((r) => setTimeout(r, 20));
    expect(p.calls.denoise).toHaveLength(0);
    acs[1].abort(new Error('client went away'));
    await expect(runs[1]).rejects.toThrow('client went away');
    open();
    await Promise.all([runs[0], runs[2]]);
    expect(rows(p)).toEqual([4, 4, 4, 2, 2]);
    const got = latentsByFps(p);
    expect(got.get(jobs[0].fps)).toEqual(await alone(jobs[0]));
    expect(got.get(jobs[2].fps)).toEqual(await alone(jobs[2]));
  });

  it('drops the slice of a request aborted while its batch is in flight', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 50, maxBatch: 4 });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const signals: AbortSignal[] = [];
    const inner = p.denoise.bind(p);
    p.denoise = (s, t, ts, sig) => {
      signals.push(sig);
      return inner(s, t, ts, sig);
    };
    p.hooks.denoise = (n) => (n === 1 ? gate : undefined);
    const acs = jobs.map(() => new AbortController());
    const runs = jobs.map((job, i) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, acs[i].signal));
    await new Promise((r) => setTimeout(r, 20));
    expect(rows(p)).toEqual([6]);
    acs[0].abort(new Error('deadline'));
    await expect(runs[0]).rejects.toThrow('deadline'); // at once, before the call returns
    expect(signals[0].aborted).toBe(false); // the others still want the answer
    open();
    await Promise.all([runs[1], runs[2]]);
    expect(rows(p)).toEqual([6, 4, 4, 4, 2]);
    const got = latentsByFps(p);
    expect(got.has(jobs[0].fps)).toBe(false);
    expect(got.get(jobs[1].fps)).toEqual(await alone(jobs[1]));
    expect(got.get(jobs[2].fps)).toEqual(await alone(jobs[2]));
  });

  it('aborts the merged call only when every request in it is gone', async () => {
    const p = new RowwisePipeline();
    const batcher = new StepBatcher(p, { windowMs: 50, maxBatch: 4 });
    const signals: AbortSignal[] = [];
    const inner = p.denoise.bind(p);
    p.denoise = (s, t, ts, sig) => {
      signals.push(sig);
      return inner(s, t, ts, sig);
    };
    p.hooks.denoise = () => new Promise((r) => setTimeout(r, 10_000));
    const acs = jobs.slice(0, 2).map(() => new AbortController());
    const runs = jobs.slice(0, 2).map((job, i) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, acs[i].signal));
    await new Promise((r) => setTimeout(r, 20));
    acs[0].abort(new Error('a'));
    expect(signals[0].aborted).toBe(false);
    acs[1].abort(new Error('b'));
    expect(signals[0].aborted).toBe(true);
    const results = await Promise.allSettled(runs);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });

  it('with a bounded pipeline depth, merges requests that started at different times', async () => {
    const p = new RowwisePipeline();
    p.hooks.denoise = () => new Promise((r) => setTimeout(r, 10));
    const batcher = new StepBatcher(p, { windowMs: 5, maxBatch: 4, maxInFlight: 1 });
    const runs: Promise<unknown>[] = [];
    for (const job of jobs) {
      runs.push(runGeneration({ pipeline: p, manifest, log: quiet, batcher }, { ...job, steps: 6 }, signal()));
      await new Promise((r) => setTimeout(r, 3));
    }
    await Promise.all(runs);
    const r = rows(p);
    expect(r.reduce((a, b) => a + b, 0)).toBe(3 * 6 * 2);
    // Typically 2,6,6,6,6,6,4: the first step goes alone, then all three step together.
    expect(r.length).toBeLessThanOrEqual(9);
    expect(r.filter((n) => n === 6).length).toBeGreaterThanOrEqual(4);
    const got = latentsByFps(p);
    for (const job of jobs) expect(got.get(job.fps)).toEqual(await alone({ ...job, steps: 6 }));
  });

  it('asks a policy function at every decision, so the pipeline depth can follow the live topology', async () => {
    const p = new RowwisePipeline();
    let inFlight = 0;
    let most = 0;
    p.hooks.denoise = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 10));
      inFlight--;
    };
    let depth = 1;
    const batcher = new StepBatcher(p, () => ({ windowMs: 1, maxBatch: 4, maxInFlight: depth }));
    // Three shapes (8, 49 and 100 frames): no two calls can merge, so only the depth limits them.
    const shapes = [8, 49, 100].map((numFrames, i) => ({ ...jobs[i], numFrames }));
    const runAll = () => Promise.all(shapes.map((job) => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, signal())));
    await runAll();
    expect(most).toBe(1);
    depth = 3;
    most = 0;
    await runAll();
    expect(most).toBe(3);
  });
});

describe('retry tallies through the step batcher', () => {
  it('counts a retried merged call for every request in it, and a lone call for its own request only', async () => {
    const p = new RowwisePipeline();
    // The pipeline sends its first and fourth denoiser calls twice (as NatsPipeline does when a call was lost).
    p.hooks.denoise = (n) => {
      if (n === 1 || n === 4) countRetry();
    };
    const batcher = new StepBatcher(p, { windowMs: 50, maxBatch: 4 });
    const tallies = jobs.map((): RetryTally => ({ retries: 0 }));
    await Promise.all(jobs.map((job, i) => withTallies([tallies[i]], () => runGeneration({ pipeline: p, manifest, log: quiet, batcher }, job, signal()))));
    // Call 1 merged all three requests; call 4 carried the two longest; call 5 the longest alone.
    expect(rows(p)).toEqual([6, 6, 6, 4, 2]);
    expect(tallies.map((t) => t.retries)).toEqual([1, 2, 2]);
  });
});
