/**
 * Model packages: `models/<name>/manifest.json` names every file and declares
 * the geometry, the scheduler and the API's defaults and limits. The embedded
 * default and a real CogVideoX export are read by the same code.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deepFreeze } from './config.ts';

/** The samplers spool runs: CogVideoX's DDIM (2B) and its DPM-Solver variant (5B). */
export const SCHEDULER_TYPES = ['cogvideox-ddim', 'cogvideox-dpm'] as const;
export type SchedulerType = (typeof SCHEDULER_TYPES)[number];

/** The parts of a model a package may hold; a host converts and serves only what it runs. */
export const MODEL_COMPONENTS = ['text_encoder', 'transformer', 'vae'] as const;
export type ModelComponent = (typeof MODEL_COMPONENTS)[number];

export interface SchedulerConfig {
  readonly type: SchedulerType;
  readonly num_train_timesteps: number;
  readonly beta_start: number;
  readonly beta_end: number;
  readonly beta_schedule: 'scaled_linear';
  readonly prediction_type: 'v_prediction';
  readonly rescale_betas_zero_snr: boolean;
  readonly snr_shift_scale: number;
  readonly timestep_spacing: 'trailing';
  readonly set_alpha_to_one: boolean;
  /**
   * Correlation of the initial noise between latent frames (0 when absent): the
   * model was trained with noise `√ρ · shared + √(1 − ρ) · own` per frame.
   */
  readonly frame_noise_correlation?: number;
}

export interface TransformerRotary {
  readonly type: '3d';
  /** Channels per attention head that the tables cover. */
  readonly head_dim: number;
  readonly theta: number;
  /** The latent grid (in patches) the model was trained at, for the crop of the spatial frequencies. */
  readonly base_height: number;
  readonly base_width: number;
}

export interface VaeChunking {
  /** The graph for every chunk after the first: latents and the conv cache in, frames and the new cache out. */
  readonly next: string;
  /** Latent frames per chunk; the first chunk also takes the odd one when the count is odd. */
  readonly frame_batch: number;
}

export interface ModelManifest {
  readonly name: string;
  readonly family: string;
  readonly description?: string;
  readonly tokenizer: {
    readonly file: string;
    readonly config?: string;
    readonly max_tokens: number;
    readonly pad_id: number;
    readonly eos_id: number;
    readonly unk_id: number;
  };
  readonly text_encoder: { readonly file: string; readonly hidden_size: number };
  readonly transformer: {
    readonly embed: string;
    readonly blocks: readonly string[];
    readonly head: string;
    readonly hidden_size: number;
    readonly patch_size: number;
    readonly num_heads?: number;
    /** Width of `temb`, which every block and the head take; `hidden_size` when absent (CogVideoX: 512). */
    readonly time_embed_dim?: number;
    /**
     * 3D rotary position embedding (CogVideoX-5B): every block also takes
     * `rotary_cos` and `rotary_sin`, float32 [F·(h/p)·(w/p), head_dim], which
     * the worker computes once per latent frame count F.
     */
    readonly rotary?: TransformerRotary;
  };
  readonly vae: {
    /** The decoder graph: the whole decode, or with `chunked` the first chunk. */
    readonly decoder: string;
    readonly scaling_factor: number;
    /** Decoding a few latent frames at a time with a causal conv cache, so memory stays bounded for long videos. */
    readonly chunked?: VaeChunking;
  };
  readonly latent: { readonly channels: number; readonly temporal_compression: number; readonly spatial_compression: number };
  readonly video: {
    readonly width: number;
    readonly height: number;
    readonly fps: number;
    readonly output_width: number;
    readonly output_height: number;
  };
  readonly scheduler: SchedulerConfig;
  /** The parts this package holds (a host may convert only what it serves); all of them when absent. */
  readonly components?: readonly ModelComponent[];
  readonly defaults: {
    readonly num_inference_steps: number;
    readonly guidance_scale: number;
    /** φ of guidance rescale, 0..1; the loader fills in 0 (plain classifier-free guidance) when the file omits it. */
    readonly guidance_rescale: number;
    /**
     * CogVideoX's dynamic guidance (`use_dynamic_cfg` of diffusers' pipeline, published
     * with the 5B checkpoints and their DPM sampler): each step's scale is
     * 1 + g·(1 − cos(π·((S − t)/S)⁵))/2 at timestep t of S steps. False when absent.
     */
    readonly use_dynamic_cfg?: boolean;
    readonly fps: number;
    readonly num_frames: number;
  };
  readonly limits: {
    readonly min_frames: number;
    readonly max_frames: number;
    readonly min_fps: number;
    readonly max_fps: number;
    readonly max_inference_steps: number;
    readonly max_guidance_scale: number;
    readonly max_prompt_chars: number;
  };
  readonly files?: Readonly<Record<string, string>>;
}

export interface ModelPackage {
  readonly dir: string;
  readonly manifest: ModelManifest;
  /** Absolute path of a file named by the manifest. */
  resolve(relative: string): string;
}

export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** The repository's `models/` folder. */
export const MODELS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models');

/** The model `npm start` serves when SPOOL_MODEL_DIR is not set. */
export const DEFAULT_MODEL = 'cogvideox-mini';

export function loadModelPackage(dir: string): ModelPackage {
  const abs = path.resolve(dir);
  const file = path.join(abs, 'manifest.json');
  let json: ManifestFile;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as ManifestFile;
  } catch (err) {
    throw new ManifestError(`cannot read model manifest ${file}: ${(err as Error).message}`);
  }
  checkManifest(json, file);
  const manifest: ModelManifest = { ...json, defaults: { ...json.defaults, guidance_rescale: json.defaults.guidance_rescale ?? 0 } };
  return Object.freeze({
    dir: abs,
    manifest: deepFreeze(manifest),
    resolve: (relative: string) => path.join(abs, relative),
  });
}

/** manifest.json as written: fields the loader defaults may be absent. */
type ManifestFile = Omit<ModelManifest, 'defaults'> & {
  readonly defaults: Omit<ModelManifest['defaults'], 'guidance_rescale'> & { readonly guidance_rescale?: number };
};

function checkManifest(m: ManifestFile, file: string): void {
  const need = (ok: unknown, what: string): void => {
    if (!ok) throw new ManifestError(`${file}: ${what}`);
  };
  need(typeof m.name === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(m.name), 'name must be lower-case letters, digits and dashes');
  need(m.tokenizer?.file && m.tokenizer.max_tokens > 1, 'tokenizer.file and tokenizer.max_tokens > 1 are required');
  need(m.text_encoder?.file, 'text_encoder.file is required');
  need(m.transformer?.embed && m.transformer?.head, 'transformer.embed and transformer.head are required');
  need(Array.isArray(m.transformer?.blocks) && m.transformer.blocks.length > 0, 'transformer.blocks must list at least one block');
  need(m.vae?.decoder && m.vae.scaling_factor > 0, 'vae.decoder and a positive vae.scaling_factor are required');
  need(m.latent?.temporal_compression >= 1 && m.latent?.spatial_compression >= 1 && m.latent?.channels >= 1, 'latent geometry is incomplete');
  need(m.video?.width > 0 && m.video?.height > 0, 'video.width and video.height are required');
  need(m.video.width % m.latent.spatial_compression === 0 && m.video.height % m.latent.spatial_compression === 0,
    'video size must be a multiple of the spatial compression');
  need(
    (SCHEDULER_TYPES as readonly string[]).includes(m.scheduler?.type),
    `scheduler.type ${String(m.scheduler?.type)} is not supported (${SCHEDULER_TYPES.join(' and ')} are)`,
  );
  const t = m.transformer;
  need(t.time_embed_dim === undefined || (Number.isInteger(t.time_embed_dim) && t.time_embed_dim > 0), 'transformer.time_embed_dim must be a positive integer');
  need(
    t.rotary === undefined ||
      (t.rotary.type === '3d' && t.rotary.head_dim > 0 && t.rotary.theta > 0 && t.rotary.base_height > 0 && t.rotary.base_width > 0),
    'transformer.rotary must be {type: "3d", head_dim, theta, base_height, base_width} with positive numbers',
  );
  const c = m.vae.chunked;
  need(c === undefined || (typeof c.next === 'string' && Number.isInteger(c.frame_batch) && c.frame_batch >= 1), 'vae.chunked must be {next: file, frame_batch: integer ≥ 1}');
  need(
    m.components === undefined ||
      (Array.isArray(m.components) && m.components.length > 0 && m.components.every((x) => (MODEL_COMPONENTS as readonly string[]).includes(x))),
    `components must list some of ${MODEL_COMPONENTS.join(', ')}`,
  );
  need(m.scheduler.prediction_type === 'v_prediction', 'only v_prediction models are supported');
  need(m.scheduler.beta_schedule === 'scaled_linear' && m.scheduler.timestep_spacing === 'trailing',
    'scheduler.beta_schedule must be scaled_linear and scheduler.timestep_spacing trailing (the samplers compute only those)');
  const rho = m.scheduler.frame_noise_correlation;
  need(rho === undefined || (typeof rho === 'number' && rho >= 0 && rho < 1), 'scheduler.frame_noise_correlation must be a number in [0, 1)');
  need(m.limits && m.limits.min_frames >= 1 && m.limits.max_frames >= m.limits.min_frames, 'limits.min_frames..max_frames is invalid');
  const phi = m.defaults?.guidance_rescale;
  need(phi === undefined || (typeof phi === 'number' && phi >= 0 && phi <= 1), 'defaults.guidance_rescale must be a number in [0, 1]');
  const dynamic = m.defaults?.use_dynamic_cfg;
  need(dynamic === undefined || typeof dynamic === 'boolean', 'defaults.use_dynamic_cfg must be true or false');
  need(m.defaults && m.defaults.num_frames >= m.limits.min_frames && m.defaults.num_frames <= m.limits.max_frames,
    'defaults.num_frames is outside the limits');
}

/** Checks every file's sha256 against the manifest's `files` table. */
export function verifyModelFiles(pkg: ModelPackage, only?: readonly string[]): void {
  const files = pkg.manifest.files ?? {};
  for (const [rel, digest] of Object.entries(files)) {
    if (only && !only.includes(rel)) continue;
    const actual = sha256File(pkg.resolve(rel));
    if (actual !== digest) {
      throw new ManifestError(`${pkg.resolve(rel)} does not match its sha256 in the manifest (the package is damaged or half-copied)`);
    }
  }
}

/** sha256 of a file read in pieces: a real model's weight files are far larger than one buffer may be. */
export function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(16 * 1024 * 1024);
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** Whether a package holds a part of the model (every part when it does not say). */
export function hasComponent(m: ModelManifest, part: ModelComponent): boolean {
  return m.components === undefined || m.components.includes(part);
}

/** Width of `temb` between shards. */
export function timeEmbedDim(m: ModelManifest): number {
  return m.transformer.time_embed_dim ?? m.transformer.hidden_size;
}

/** Frame geometry: the model makes 4k+1 frames from k+1 latent frames. */
export interface FramePlan {
  /** Frames the caller asked for (and gets). */
  readonly requested: number;
  /** Frames the model generates: the smallest tc·k+1 ≥ requested. */
  readonly generated: number;
  /** Latent frames: k+1. */
  readonly latentFrames: number;
}

export function planFrames(requested: number, temporalCompression: number): FramePlan {
  const k = Math.max(0, Math.ceil((requested - 1) / temporalCompression));
  return { requested, generated: temporalCompression * k + 1, latentFrames: k + 1 };
}

export function latentShape(m: ModelManifest, latentFrames: number, batch = 1): number[] {
  return [
    batch,
    latentFrames,
    m.latent.channels,
    m.video.height / m.latent.spatial_compression,
    m.video.width / m.latent.spatial_compression,
  ];
}
