/**
 * The VAE decoder: raw latents in (scaled here by 1/scaling_factor), frames in [-1, 1] out.
 *
 * One graph decodes the whole video, or, with the manifest's `vae.chunked`, the
 * first graph decodes the first chunk of latent frames and the `next` graph each
 * later one, fed the conv cache the previous run gave: memory stays bounded by a
 * chunk whatever the video's length.
 */
import type { ModelPackage, Tensor } from '@spool/shared';
import { OnnxModel, type SessionOptions } from '../runtime/onnx.ts';
import { cacheLinks, chunkBounds, concatFrames, sliceFrames, type CacheLink } from './chunks.ts';

interface Chunking {
  readonly next: OnnxModel;
  readonly frameBatch: number;
  readonly links: readonly CacheLink[];
}

export class VaeDecoderModel {
  private constructor(
    private readonly model: OnnxModel,
    readonly scalingFactor: number,
    private readonly chunking: Chunking | undefined,
  ) {}

  static async load(pkg: ModelPackage, opts: SessionOptions): Promise<VaeDecoderModel> {
    const { decoder, scaling_factor: scalingFactor, chunked } = pkg.manifest.vae;
    const model = await OnnxModel.load(pkg.resolve(decoder), opts, decoder);
    if (!chunked) return new VaeDecoderModel(model, scalingFactor, undefined);
    try {
      const next = await OnnxModel.load(pkg.resolve(chunked.next), opts, chunked.next);
      const links = cacheLinks(model, next);
      return new VaeDecoderModel(model, scalingFactor, { next, frameBatch: chunked.frame_batch, links });
    } catch (err) {
      await model.close();
      throw err;
    }
  }

  /** Latent frames per run after the first (the whole video at once when not chunked). */
  get frameBatch(): number | undefined {
    return this.chunking?.frameBatch;
  }

  /**
   * latents float32 [B, F, C, h, w] → frames float32 [B, T_i, 3, H, W], one
   * chunk at a time. Between runs only the conv cache is kept; a chunk's frames
   * are the caller's once yielded.
   */
  async *decodeChunks(latents: Tensor<'float32'>): AsyncGenerator<Tensor<'float32'>> {
    const k = 1 / this.scalingFactor;
    if (!this.chunking) {
      const scaled = k === 1 ? latents : sliceFrames(latents, 0, latents.shape[1], k);
      yield (await this.model.runSingle({ latents: scaled })) as Tensor<'float32'>;
      return;
    }
    const { next, frameBatch, links } = this.chunking;
    let cache: Record<string, Tensor> | undefined;
    for (const [start, end] of chunkBounds(latents.shape[1], frameBatch)) {
      const chunk = sliceFrames(latents, start, end, k);
      const out = cache ? await next.run({ latents: chunk, ...cache }) : await this.model.run({ latents: chunk });
      cache = Object.fromEntries(links.map((l) => [l.input, out[l.output]]));
      yield out.frames as Tensor<'float32'>;
    }
  }

  /** latents float32 [B, F, C, h, w] → frames float32 [B, T, 3, H, W] (T = 4(F−1)+1 for odd F). */
  async decode(latents: Tensor<'float32'>): Promise<Tensor<'float32'>> {
    const parts: Tensor<'float32'>[] = [];
    for await (const frames of this.decodeChunks(latents)) parts.push(frames);
    return concatFrames(parts);
  }

  async close(): Promise<void> {
    await Promise.all([this.model.close(), this.chunking?.next.close()]);
  }
}

