/**
 * The Pipeline over NATS: each call is one traced request to a stage subject.
 * When a call finds no responder or times out, the topology is checked again
 * so the error names the stage that is actually missing (a call to denoise.0
 * times out when denoise.1 has no worker to forward to).
 */
import type { NatsConnection } from '@nats-io/nats-core';
import {
  callStage,
  isSpoolError,
  stageLabel,
  stageSubject,
  tensor,
  wireError,
  type Tensor,
  type WireMessage,
} from '@spool/shared';
import type { Topology } from '../topology.ts';
import type { EncodedVideo, Pipeline, TextEncoding, VideoRequest } from './pipeline.ts';

export interface NatsPipelineOptions {
  readonly nc: NatsConnection;
  readonly model: string;
  readonly stageTimeoutMs: number;
  /** Names the stage really missing when a call fails; the shards of the chain come from it too. */
  readonly topology?: Topology;
}

/** The stages a call went through: fixed labels, or every denoiser shard of the live topology. */
type Involved = readonly string[] | 'denoiser chain';

export class NatsPipeline implements Pipeline {
  constructor(private readonly opts: NatsPipelineOptions) {}

  async encodeText(prompts: readonly string[], signal: AbortSignal): Promise<TextEncoding> {
    const stage = stageLabel('text-encoder');
    const reply = await this.call([stage], stage, stageSubject(this.opts.model, 'text-encoder'), { meta: { prompts: [...prompts] }, tensors: {} }, 'text-encode', signal);
    const embeddings = float32(reply, 'text_embeddings', stage);
    if (embeddings.shape.length !== 3 || embeddings.shape[0] !== prompts.length) {
      throw badMessage(stage, `text_embeddings has shape [${embeddings.shape.join(', ')}], expected [${prompts.length}, L, D]`);
    }
    const tokens = Array.isArray(reply.meta.tokens) ? (reply.meta.tokens as number[]) : [];
    const truncated = Array.isArray(reply.meta.truncated) ? (reply.meta.truncated as boolean[]) : [];
    return { embeddings, tokens, truncated };
  }

  async denoise(sample: Tensor<'float32'>, text: Tensor<'float32'>, timestep: Tensor<'float32'>, signal: AbortSignal): Promise<Tensor<'float32'>> {
    const first = stageLabel('denoiser', 0);
    const reply = await this.call(
      'denoiser chain',
      first,
      stageSubject(this.opts.model, 'denoiser', 0),
      { meta: {}, tensors: { sample, encoder_hidden_states: text, timestep } },
      'denoise shard-chain',
      signal,
    );
    const out = float32(reply, 'model_output', first);
    if (out.shape.join() !== sample.shape.join()) {
      throw badMessage(first, `model_output has shape [${out.shape.join(', ')}], expected [${sample.shape.join(', ')}]`);
    }
    return out;
  }

  async decodeVideo(latents: Tensor<'float32'>, video: VideoRequest, signal: AbortSignal): Promise<EncodedVideo> {
    const stage = stageLabel('vae-decoder');
    const request: WireMessage = {
      meta: { forward: { subject: stageSubject(this.opts.model, 'video-encoder'), meta: { ...video } } },
      tensors: { latents },
    };
    const reply = await this.call([stage, stageLabel('video-encoder')], stage, stageSubject(this.opts.model, 'vae-decoder'), request, 'vae-decode+video-encode', signal);
    const mp4 = reply.tensors.mp4;
    if (!mp4 || mp4.dtype !== 'uint8') throw badMessage('video-encoder', 'the reply has no uint8 tensor "mp4"');
    const m = reply.meta;
    const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
    const bytes = mp4.data as Uint8Array;
    return {
      mp4: bytes,
      frames: num(m.frames, video.num_frames),
      fps: num(m.fps, video.fps),
      width: num(m.width, video.width),
      height: num(m.height, video.height),
      codec: typeof m.codec === 'string' ? m.codec : 'h264',
      bytes: bytes.byteLength,
    };
  }

  private async call(involved: Involved, stage: string, subject: string, message: WireMessage, spanName: string, signal: AbortSignal): Promise<WireMessage> {
    try {
      return await callStage(this.opts.nc, subject, message, { stage, timeoutMs: this.opts.stageTimeoutMs, signal, spanName });
    } catch (err) {
      throw await this.explain(err, involved, stage);
    }
  }

  /** Names the stage that is really missing when a call finds nobody or times out. */
  private async explain(err: unknown, involved: Involved, stage: string): Promise<unknown> {
    if (!isSpoolError(err) || !this.opts.topology) return err;
    if (err.code !== 'SPOOL_ERR_STAGE_UNAVAILABLE' && err.code !== 'SPOOL_ERR_STAGE_TIMEOUT') return err;
    const snap = await this.opts.topology.snapshot({ fresh: true });
    if (snap.error) return err;
    const labels = involved === 'denoiser chain' ? snap.denoiser.shards.map((s) => s.label) : involved;
    const gone = labels.filter((label) => snap.missing.includes(label));
    if (gone.length === 0) return err;
    const what = err.code === 'SPOOL_ERR_STAGE_TIMEOUT' ? 'timed out' : 'found no worker';
    const detail = gone.length === 1 ? `${gone[0]} has no live worker` : `${gone.join(', ')} have no live worker`;
    return wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `${detail} (the call to ${stage} ${what})`, { stage: gone[0], cause: err });
  }
}

function float32(reply: WireMessage, name: string, stage: string): Tensor<'float32'> {
  const t = reply.tensors[name];
  if (!t || t.dtype !== 'float32') throw badMessage(stage, `the reply has no float32 tensor "${name}"`);
  return tensor('float32', t.shape, t.data as Float32Array);
}

function badMessage(stage: string, detail: string): Error {
  return wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: ${detail}`, { stage });
}
