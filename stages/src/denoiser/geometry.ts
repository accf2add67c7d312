/** The sizes a denoiser shard checks its tensors against, from the manifest. */
import { timeEmbedDim, type ModelManifest, type TransformerRotary } from '@spool/shared';

export interface DenoiserGeometry {
  readonly tokens: number;
  readonly textHidden: number;
  readonly hidden: number;
  /** Width of `temb` (the transformer's time_embed_dim; hidden when the manifest does not say). */
  readonly timeEmbed: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** The latent grid in patches. */
  readonly gridHeight: number;
  readonly gridWidth: number;
  /** Sequence positions per latent frame. */
  readonly patchesPerFrame: number;
  /** 3D rotary positions: every block also takes rotary_cos and rotary_sin. */
  readonly rotary?: TransformerRotary;
}

export function denoiserGeometry(m: ModelManifest): DenoiserGeometry {
  const height = m.video.height / m.latent.spatial_compression;
  const width = m.video.width / m.latent.spatial_compression;
  const p = m.transformer.patch_size;
  return {
    tokens: m.tokenizer.max_tokens,
    textHidden: m.text_encoder.hidden_size,
    hidden: m.transformer.hidden_size,
    timeEmbed: timeEmbedDim(m),
    channels: m.latent.channels,
    height,
    width,
    gridHeight: height / p,
    gridWidth: width / p,
    patchesPerFrame: (height / p) * (width / p),
    ...(m.transformer.rotary ? { rotary: m.transformer.rotary } : {}),
  };
}

/** Latent frames of a joint sequence of length S = tokens + F·patchesPerFrame, or undefined when S is no such length. */
export function framesOfSequence(g: DenoiserGeometry, sequence: number): number | undefined {
  const frames = (sequence - g.tokens) / g.patchesPerFrame;
  return Number.isInteger(frames) && frames >= 1 ? frames : undefined;
}
