/**
 * Inference cost of each stage on this machine, in process (no NATS): the
 * text encoder, one denoiser step per shard, the VAE decode and the video
 * encode, for one request's shapes.
 */
import { latentShape, planFrames, tensor, type ModelPackage, type Tensor } from '@spool/shared';
import {
  DenoiserShard,
  encodeVideo,
  parseDevice,
  PromptTokenizer,
  resolveLayout,
  TextEncoderModel,
  toUint8Frames,
  VaeDecoderModel,
} from '@spool/stages';
import { time, type Timing } from './stats.ts';

export interface StageCosts {
  readonly num_frames: number;
  readonly latent_frames: number;
  readonly shards: number;
  readonly threads: number;
  readonly text_encoder: Timing;
  readonly denoise_shards: Timing[];
  readonly denoise_step_total_ms: number;
  readonly vae_decode: Timing;
  readonly video_encode: Timing;
}

const noise = (shape: number[]): Tensor<'float32'> => {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = 12345;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    data[i] = (s / 0x7fffffff) * 2 - 1;
  }
  return tensor('float32', shape, data);
};

export async function measureStageCosts(pkg: ModelPackage, opts: { numFrames: number; shards: number; threads: number; runs: number }): Promise<StageCosts> {
  const m = pkg.manifest;
  const session = { device: parseDevice('cpu'), threads: opts.threads };
  const plan = planFrames(opts.numFrames, m.latent.temporal_compression);

  const tokenizer = PromptTokenizer.fromPackage(pkg);
  const textEncoder = await TextEncoderModel.load(pkg, session);
  const ids = tokenizer.encode(['', 'A serene sunset over the ocean with birds flying in the sky.']).inputIds;
  const text_encoder = await time(opts.runs, () => textEncoder.encode(ids));
  const text = await textEncoder.encode(ids);

  const shards = await Promise.all(
    Array.from({ length: opts.shards }, (_, shard) =>
      DenoiserShard.load(pkg, resolveLayout({ shard, shards: opts.shards, blockCount: m.transformer.blocks.length }), session),
    ),
  );
  const sample = noise(latentShape(m, plan.latentFrames, 2));
  const timestep = tensor('float32', [2], Float32Array.from([499, 499]));
  const inputs: Parameters<DenoiserShard['forward']>[0][] = [{ sample, encoder_hidden_states: text, timestep }];
  for (const shard of shards.slice(0, -1)) inputs.push((await shard.forward(inputs[inputs.length - 1])) as never);
  const denoise_shards: Timing[] = [];
  for (const [i, shard] of shards.entries()) denoise_shards.push(await time(opts.runs, () => shard.forward(inputs[i])));

  const vae = await VaeDecoderModel.load(pkg, session);
  const latents = noise(latentShape(m, plan.latentFrames, 1));
  const vae_decode = await time(opts.runs, () => vae.decode(latents));
  const frames = toUint8Frames(await vae.decode(latents));
  const video_encode = await time(opts.runs, () =>
    encodeVideo(frames, { fps: 24, numFrames: opts.numFrames, width: m.video.output_width, height: m.video.output_height, preset: 'veryfast', crf: 18 }, { ffmpegPath: 'ffmpeg', timeoutMs: 60_000 }),
  );

  await Promise.all([textEncoder.close(), vae.close(), ...shards.map((s) => s.close())]);
  return {
    num_frames: opts.numFrames,
    latent_frames: plan.latentFrames,
    shards: opts.shards,
    threads: opts.threads,
    text_encoder,
    denoise_shards,
    denoise_step_total_ms: Math.round(denoise_shards.reduce((a, t) => a + t.median_ms, 0) * 100) / 100,
    vae_decode,
    video_encode,
  };
}
