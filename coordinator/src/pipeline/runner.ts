/**
 * The request runner: text encoding, the denoising loop with classifier-free
 * guidance (both branches in one batch of 2), then decode and video encode.
 * The coordinator owns every piece of per-request state here: the latents,
 * the RNG, the sampler (whichever the manifest names, through the `Sampler`
 * interface) and the step index. The guidance scale of each step is the
 * request's, or with the manifest's `defaults.use_dynamic_cfg` CogVideoX's
 * dynamic schedule of it. An AbortSignal (client gone, deadline,
 * shutdown) stops the run between and during steps.
 *
 * With a step batcher, each step's denoiser call goes through it and may be
 * merged with other requests' calls; without one it goes straight to the
 * pipeline. Progress goes to `onProgress` at every phase change and step, and
 * to the log at info every ~10% of the steps of a run of 20 steps or more.
 */
import { isSpoolError, latentShape, numel, planFrames, tensor, type FramePlan, type ModelManifest, type Tensor } from '@spool/shared';
import { createSampler } from '../sampler/create-sampler.ts';
import { guidanceScaleAt } from '../sampler/guidance.ts';
import { initialLatents } from '../sampler/noise.ts';
import { Rng } from '../sampler/rng.ts';
import type { Sampler } from '../sampler/sampler.ts';
import type { DenoiseSession, EncodedVideo, Pipeline, TextEncoding } from './pipeline.ts';
import { inSpan } from './spans.ts';

export interface GenerationParams {
  readonly prompt: string;
  readonly negativePrompt?: string;
  readonly numFrames: number;
  readonly fps: number;
  readonly guidanceScale: number;
  /** φ of `cfgCombine`: 0 is plain classifier-free guidance. */
  readonly guidanceRescale: number;
  readonly steps: number;
  readonly seed: number;
}

export interface GenerationResult {
  readonly video: EncodedVideo;
  readonly plan: FramePlan;
  readonly seed: number;
  readonly tokens: readonly number[];
  readonly truncated: readonly boolean[];
  readonly timings: { readonly encodeMs: number; readonly denoiseMs: number; readonly decodeMs: number };
}

/** The logging the runner does, satisfied by pino and fastify loggers. */
export interface RunLog {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/** Where a run is: `step` counts the denoising steps done so far. */
export interface RunProgress {
  readonly phase: 'encoding' | 'denoising' | 'decoding';
  readonly step: number;
  readonly steps: number;
}

export interface RunnerDeps {
  readonly pipeline: Pipeline;
  readonly manifest: ModelManifest;
  readonly log: RunLog;
  /** Sends the denoiser calls, possibly merged with other requests'; `pipeline.denoise` when absent. */
  readonly batcher?: { session(): DenoiseSession };
  readonly onProgress?: (progress: RunProgress) => void;
  /** Names the request in progress lines. */
  readonly requestId?: string;
}

/** Runs this long or longer log their progress at info. */
export const PROGRESS_LOG_MIN_STEPS = 20;

export async function runGeneration(deps: RunnerDeps, params: GenerationParams, signal: AbortSignal): Promise<GenerationResult> {
  try {
    return await run(deps, params, signal);
  } catch (err) {
    // A stage call cut short by the signal fails as "cancelled"; report why it was cut.
    if (signal.aborted && isSpoolError(signal.reason)) throw signal.reason;
    throw err;
  }
}

async function run(deps: RunnerDeps, p: GenerationParams, signal: AbortSignal): Promise<GenerationResult> {
  const { pipeline, manifest, log } = deps;
  const t0 = performance.now();
  const plan = planFrames(p.numFrames, manifest.latent.temporal_compression);
  // One seeded source per request: the initial latents, then any noise the sampler adds.
  const rng = new Rng(p.seed);
  const sampler = createSampler(manifest.scheduler, p.steps, rng);
  const steps = sampler.timesteps.length;
  const progress = (phase: RunProgress['phase'], step: number): void => deps.onProgress?.({ phase, step, steps });

  signal.throwIfAborted();
  // Opened before the prompt is encoded, so requests that start together batch from their first step.
  const session = deps.batcher?.session() ?? { denoise: pipeline.denoise.bind(pipeline), close: () => undefined };
  let text: TextEncoding;
  let latents: Float32Array;
  let t1: number;
  try {
    progress('encoding', 0);
    text = await pipeline.encodeText([p.negativePrompt ?? '', p.prompt], signal);
    t1 = performance.now();
    progress('denoising', 0);
    latents = await denoiseLoop(deps, session, sampler, rng, plan.latentFrames, text.embeddings, p, signal, t0);
  } finally {
    session.close();
  }
  const t2 = performance.now();
  const shape = latentShape(manifest, plan.latentFrames, 1);

  signal.throwIfAborted();
  progress('decoding', steps);
  const video = await pipeline.decodeVideo(
    tensor('float32', shape, latents),
    { fps: p.fps, num_frames: plan.requested, width: manifest.video.output_width, height: manifest.video.output_height },
    signal,
  );
  const t3 = performance.now();

  const timings = { encodeMs: Math.round(t1 - t0), denoiseMs: Math.round(t2 - t1), decodeMs: Math.round(t3 - t2) };
  log.info(
    { frames: video.frames, generated_frames: plan.generated, steps, seed: p.seed, bytes: video.bytes, ...timings, total_ms: Math.round(t3 - t0) },
    `generated ${video.frames} frames in ${steps} steps (${Math.round(t3 - t0)} ms)`,
  );
  return { video, plan, seed: p.seed, tokens: text.tokens, truncated: text.truncated, timings };
}

async function denoiseLoop(
  { manifest, log, onProgress, requestId }: RunnerDeps,
  session: DenoiseSession,
  sampler: Sampler,
  rng: Rng,
  latentFrames: number,
  embeddings: Tensor<'float32'>,
  p: GenerationParams,
  signal: AbortSignal,
  t0: number,
): Promise<Float32Array> {
  const shape = latentShape(manifest, latentFrames, 1);
  const n = numel(shape);
  const latents = initialLatents(rng, latentFrames, n / latentFrames, manifest.scheduler.frame_noise_correlation ?? 0, sampler.initNoiseSigma);
  const batchShape = [2, ...shape.slice(1)];
  const sample = new Float32Array(2 * n);
  const steps = sampler.timesteps.length;
  const dynamicGuidance = manifest.defaults.use_dynamic_cfg ?? false;
  const every = steps >= PROGRESS_LOG_MIN_STEPS ? Math.ceil(steps / 10) : 0;

  for (let i = 0; i < steps; i++) {
    signal.throwIfAborted();
    const t = sampler.timesteps[i];
    const guidance = guidanceScaleAt(p.guidanceScale, t, steps, dynamicGuidance);
    await inSpan(`denoise step ${i + 1}/${steps}`, { 'spool.step': i + 1, 'spool.steps': steps, 'spool.timestep': t }, async () => {
      // Row 0 is the unconditional (negative prompt) branch, row 1 the conditional one.
      sample.set(latents, 0);
      sample.set(latents, n);
      const v = await session.denoise(tensor('float32', batchShape, sample), embeddings, tensor('float32', [2], new Float32Array([t, t])), signal);
      await inSpan('sampler update', { 'spool.sampler': sampler.type, 'spool.guidance_scale': guidance, 'spool.guidance_rescale': p.guidanceRescale }, () => {
        sampler.guidedStep(t, latents, v.data.subarray(0, n), v.data.subarray(n, 2 * n), guidance, p.guidanceRescale);
      });
    });
    onProgress?.({ phase: 'denoising', step: i + 1, steps });
    log.debug({ step: i + 1, steps, timestep: t }, `step ${i + 1}/${steps}`);
    if (every > 0 && ((i + 1) % every === 0 || i + 1 === steps)) {
      const elapsedMs = Math.round(performance.now() - t0);
      log.info({ id: requestId, step: i + 1, steps, elapsed_ms: elapsedMs }, `${requestId ?? 'request'}: step ${i + 1}/${steps}, ${(elapsedMs / 1000).toFixed(1)} s`);
    }
  }
  return latents;
}
