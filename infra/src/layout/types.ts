/**
 * The deployment layout: how many workers of each stage run, on which device,
 * with how many onnxruntime threads, and how the denoiser's blocks are split
 * over shards. `Layout` is the validated file (`infra/layout.json`);
 * `ResolvedLayout` is that file checked against a model: one entry per
 * worker process, with every flag it is started with.
 */
import type { StageRole } from '@spool/shared';
import type { BlockRange } from '@spool/stages';

/** `cpu` or `cuda:N`; a list gives one device per replica. */
export type DeviceChoice = string | readonly string[];

/** A stage that runs an onnxruntime model: the text encoder, the VAE decoder, and each denoiser shard. */
export interface ModelStageSpec {
  readonly replicas: number;
  readonly device: DeviceChoice;
  /** onnxruntime intra-op threads of each worker. */
  readonly threads: number;
}

export interface ShardSpec extends ModelStageSpec {
  /** Absent on every shard: the model's blocks are split evenly. */
  readonly blocks?: BlockRange;
}

/** The video encoder runs ffmpeg on the CPU: only its worker count is a choice. */
export interface VideoEncoderSpec {
  readonly replicas: number;
}

export interface Layout {
  readonly description?: string;
  readonly 'text-encoder': ModelStageSpec;
  readonly denoiser: readonly ShardSpec[];
  readonly 'vae-decoder': ModelStageSpec;
  readonly 'video-encoder': VideoEncoderSpec;
}

/** Overrides of a layout from the environment (`SPOOL_REPLICAS`, `SPOOL_SHARDS`, `SPOOL_DEVICE`, `SPOOL_ORT_THREADS`). */
export interface Shorthands {
  /** Workers of every stage and every shard. */
  readonly replicas?: number;
  /** The denoiser in this many shards with evenly split blocks. */
  readonly shards?: number;
  /** The device of every model worker. */
  readonly device?: string;
  /** onnxruntime threads of every model worker. */
  readonly threads?: number;
}

/** One worker process of a resolved layout. */
export interface WorkerProcess {
  /** `denoise.0`; with several replicas of the stage, `denoise.0#1` (replica 1). */
  readonly label: string;
  /** The stage it serves, as discovery and errors name it: `denoise.0`, `text-encoder`. */
  readonly stage: string;
  readonly role: StageRole;
  /** Denoiser only. */
  readonly shard?: number;
  /** Denoiser only: shards in the chain. */
  readonly shards?: number;
  /** Denoiser only. */
  readonly blocks?: BlockRange;
  /** `cpu` or `cuda:N`. */
  readonly device: string;
  /** onnxruntime threads; absent for the video encoder. */
  readonly threads?: number;
  /** 0-based index among the workers of its stage. */
  readonly replica: number;
  readonly replicas: number;
}

export interface ResolvedShard {
  readonly shard: number;
  /** The stage label, `denoise.<shard>`. */
  readonly stage: string;
  readonly blocks: BlockRange;
  readonly replicas: number;
}

export interface ResolvedLayout {
  /** Where the layout came from, for messages: the file, and the shorthands applied. */
  readonly source: string;
  /** The layout's own note for readers. */
  readonly description?: string;
  readonly model: string;
  readonly blockCount: number;
  readonly shards: readonly ResolvedShard[];
  /** Every worker process, in request order: text encoder, shards 0..K-1, VAE decoder, video encoder. */
  readonly workers: readonly WorkerProcess[];
}
