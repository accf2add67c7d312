/** Fakes for route tests: a manifest, a Pipeline that makes fake MP4 bytes, a fixed topology. */
import { createLogger, tensor, type ModelManifest, type Tensor, type WorkerInfo } from '@spool/shared';
import type { EncodedVideo, Pipeline, TextEncoding, VideoRequest } from '../src/pipeline/pipeline.ts';
import { summarize, type Topology, type TopologySnapshot } from '../src/topology.ts';
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { build, type BuildOptions } from '../src/app.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export const manifest: ModelManifest = {
  name: 'cogvideox-test',
  family: 'cogvideox',
  tokenizer: { file: 'tokenizer.json', max_tokens: 16, pad_id: 0, eos_id: 1, unk_id: 2 },
  text_encoder: { file: 'text_encoder.onnx', hidden_size: 8 },
  transformer: { embed: 'embed.onnx', blocks: ['b0.onnx', 'b1.onnx'], head: 'head.onnx', hidden_size: 16, patch_size: 2 },
  vae: { decoder: 'vae.onnx', scaling_factor: 1 },
  latent: { channels: 2, temporal_compression: 4, spatial_compression: 4 },
  video: { width: 8, height: 8, fps: 8, output_width: 64, output_height: 64 },
  scheduler: {
    type: 'cogvideox-ddim',
    num_train_timesteps: 1000,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    prediction_type: 'v_prediction',
    rescale_betas_zero_snr: true,
    snr_shift_scale: 3,
    timestep_spacing: 'trailing',
    set_alpha_to_one: true,
  },
  defaults: { num_inference_steps: 4, guidance_scale: 6, guidance_rescale: 0, fps: 24, num_frames: 9 },
  limits: { min_frames: 8, max_frames: 100, min_fps: 1, max_fps: 60, max_inference_steps: 100, max_guidance_scale: 20, max_prompt_chars: 200 },
};

export const FAKE_MP4 = new Uint8Array([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 1, 2, 3, 4]);

/** A live worker of the test model; a denoiser shard holds block `shard` of the model's two, in a chain of two. */
export function worker(role: WorkerInfo['role'], shard?: number): WorkerInfo {
  const label = shard === undefined ? role : `${role}-${shard}`;
  return {
    id: `id-${label}`,
    service: `spool-${label}`,
    model: manifest.name,
    role,
    shard,
    shards: shard === undefined ? undefined : manifest.transformer.blocks.length,
    blocks: shard === undefined ? undefined : `${shard}:${shard + 1}`,
    device: 'cpu',
    subject: `spool.${manifest.name}.${label}`,
    version: '0.1.0',
  };
}

export const ALL_WORKERS: WorkerInfo[] = [worker('text-encoder'), worker('denoiser', 0), worker('denoiser', 1), worker('vae-decoder'), worker('video-encoder')];

export class FakeTopology implements Topology {
  workers: WorkerInfo[];
  fresh = 0;
  constructor(workers: WorkerInfo[] = ALL_WORKERS) {
    this.workers = [...workers];
  }
  async snapshot(opts: { fresh?: boolean } = {}): Promise<TopologySnapshot> {
    if (opts.fresh) this.fresh++;
    return this.latest();
  }
  /** The picture of the workers now; counts as no discovery. */
  latest(): TopologySnapshot {
    return summarize(this.workers, manifest.name, manifest.transformer.blocks.length);
  }
}

export interface FakeCalls {
  prompts: string[][];
  denoise: Array<{ shape: readonly number[]; timestep: number[] }>;
  decode: VideoRequest[];
  latents: Float32Array[];
}

/** A pipeline whose stages answer at once; `hooks` can make any of them fail or wait. */
export class FakePipeline implements Pipeline {
  readonly calls: FakeCalls = { prompts: [], denoise: [], decode: [], latents: [] };
  hooks: Partial<{ encode: () => Promise<void> | void; denoise: (step: number) => Promise<void> | void; decode: () => Promise<void> | void }> = {};

  async encodeText(prompts: readonly string[], signal: AbortSignal): Promise<TextEncoding> {
    this.calls.prompts.push([...prompts]);
    await this.hooks.encode?.();
    signal.throwIfAborted();
    const d = manifest.text_encoder.hidden_size;
    return { embeddings: tensor('float32', [prompts.length, 4, d], new Float32Array(prompts.length * 4 * d)), tokens: prompts.map(() => 3), truncated: prompts.map(() => false) };
  }

  async denoise(sample: Tensor<'float32'>, _text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>> {
    this.calls.denoise.push({ shape: sample.shape, timestep: Array.from(timestep.data) });
    await this.hooks.denoise?.(this.calls.denoise.length);
    signal.throwIfAborted();
    return tensor('float32', sample.shape, new Float32Array(sample.data.length).fill(0.5));
  }

  async decodeVideo(latents: Tensor<'float32'>, video: VideoRequest, signal: AbortSignal): Promise<EncodedVideo> {
    this.calls.decode.push(video);
    this.calls.latents.push(Float32Array.from(latents.data));
    await this.hooks.decode?.();
    signal.throwIfAborted();
    return { mp4: FAKE_MP4, frames: video.num_frames, fps: video.fps, width: video.width, height: video.height, codec: 'h264', bytes: FAKE_MP4.byteLength };
  }
}

export const fakeSystemInfo = { usage: async () => ({ cpu_usage: '10%', memory_usage: '30%', gpu_usage: 'n/a' }) };

export function testApp(over: Partial<BuildOptions> = {}) {
  const pipeline = (over.pipeline as FakePipeline | undefined) ?? new FakePipeline();
  const topology = (over.topology as FakeTopology | undefined) ?? new FakeTopology();
  const app = build({
    manifest,
    pipeline,
    topology,
    apiTokens: [TOKEN, 'second-token-abcdefghijklmnop'],
    systemInfo: fakeSystemInfo,
    log: createLogger('test', { SPOOL_LOG_LEVEL: 'silent' }),
    ...over,
  });
  return { app, pipeline, topology };
}

/** A test app factory for a test file: the app made last is closed after each test. */
export function appPerTest(): (over?: Partial<BuildOptions>) => FastifyInstance {
  let current: FastifyInstance | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return (over = {}) => {
    current = testApp(over).app;
    return current;
  };
}

export const auth = { authorization: `Bearer ${TOKEN}` };

/**
 * A pipeline whose denoiser answers a row-wise function of each row's sample,
 * timestep and text, as the real transformer does (attention is per sample):
 * a row's answer is the same whatever else is in the batch. Its text encoder
 * makes different embeddings for different prompts.
 */
export class RowwisePipeline extends FakePipeline {
  override async encodeText(prompts: readonly string[], signal: AbortSignal): Promise<TextEncoding> {
    const out = await super.encodeText(prompts, signal);
    const per = out.embeddings.data.length / prompts.length;
    prompts.forEach((p, r) => {
      let h = 0;
      for (const ch of p) h = (h * 31 + ch.charCodeAt(0)) % 997;
      for (let j = 0; j < per; j++) out.embeddings.data[r * per + j] = ((h + j) % 17) / 17;
    });
    return out;
  }

  override async denoise(sample: Tensor<'float32'>, text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>> {
    this.calls.denoise.push({ shape: sample.shape, timestep: Array.from(timestep.data) });
    await this.hooks.denoise?.(this.calls.denoise.length);
    signal.throwIfAborted();
    const rows = sample.shape[0];
    const per = sample.data.length / rows;
    const perText = text.data.length / rows;
    const out = new Float32Array(sample.data.length);
    for (let r = 0; r < rows; r++) {
      const t = timestep.data[r] / 1000;
      const c = text.data[r * perText] + text.data[r * perText + 1];
      for (let j = 0; j < per; j++) out[r * per + j] = 0.3 * sample.data[r * per + j] + t - 0.2 * c + 0.001 * (j % 7);
    }
    return tensor('float32', sample.shape, out);
  }
}

/** Polls `check` every 5 ms until it holds, or fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition never held');
    await new Promise((r) => setTimeout(r, 5));
  }
}
