/**
 * What the request runner needs from the stages, as three calls. The NATS
 * implementation sends them to workers; route tests pass a fake.
 */
import type { Tensor } from '@spool/shared';

export interface TextEncoding {
  /** f32 [B, L, Dt], one row per prompt. */
  readonly embeddings: Tensor<'float32'>;
  /** Tokens each prompt used. */
  readonly tokens: readonly number[];
  /** Whether each prompt was cut to the tokenizer's limit. */
  readonly truncated: readonly boolean[];
}

/** What the video encoder makes of the decoded frames. */
export interface VideoRequest {
  readonly fps: number;
  /** Frames to keep (the model may make a few more). */
  readonly num_frames: number;
  readonly width: number;
  readonly height: number;
}

export interface EncodedVideo {
  readonly mp4: Uint8Array;
  readonly frames: number;
  readonly fps: number;
  readonly width: number;
  readonly height: number;
  readonly codec: string;
  readonly bytes: number;
}

export interface Pipeline {
  /** Encodes every prompt in one call. */
  encodeText(prompts: readonly string[], signal: AbortSignal): Promise<TextEncoding>;
  /**
   * One pass through the whole denoiser chain: `sample` f32 [B,F,C,h,w],
   * `text` f32 [B,L,Dt], `timestep` f32 [B]; returns the v-prediction, shaped like `sample`.
   */
  denoise(sample: Tensor<'float32'>, text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>>;
  /** Decodes raw latents f32 [1,F,C,h,w] and encodes the frames as MP4. */
  decodeVideo(latents: Tensor<'float32'>, video: VideoRequest, signal: AbortSignal): Promise<EncodedVideo>;
}

/**
 * One request's access to the denoiser for the length of its step loop:
 * straight to `Pipeline.denoise`, or through the step batcher
 * (`batching/step-batcher.ts`), which may merge it with other requests' calls.
 * `close()` when the loop ends.
 */
export interface DenoiseSession {
  denoise(sample: Tensor<'float32'>, text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>>;
  close(): void;
}
