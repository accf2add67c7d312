/**
 * The Pipeline over NATS: each call is one traced call to a stage subject,
 * watched by heartbeats (`StageCaller`) and sent again when it was lost
 * (`withRetry`). When a call still fails for want of a worker, the topology
 * is checked again so the error names the stage that is actually missing (a
 * call to denoise.0 goes silent when denoise.1 has no worker to forward to).
 * Each try is told to an optional observer (the metrics): its time and
 * outcome, the sizes of the frames it moved, and whether it goes again.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import {
  connectionWatch,
  encodeFrame,
  isSpoolError,
  StageCaller,
  stageLabel,
  stageSubject,
  tensor,
  wireError,
  type ChunkLimits,
  type Logger,
  type Tensor,
  type WireMessage,
} from '@spool/shared';
import type { Topology } from '../topology.ts';
import type { EncodedVideo, Pipeline, TextEncoding, VideoRequest } from './pipeline.ts';
import { DEFAULT_RETRY, withRetry, type RetryPolicy } from './retry.ts';
import { countRetry } from './retry-tally.ts';

export interface NatsPipelineOptions {
  readonly nc: NatsConnection;
  readonly model: string;
  readonly stageTimeoutMs: number;
  /** Silence from a call's worker after which the call is lost and sent again, ms. */
  readonly lostAfterMs: number;
  /** The largest reply frame accepted (SPOOL_MAX_FRAME_MB); the default limits when absent. */
  readonly frameLimits?: ChunkLimits;
  readonly retry?: RetryPolicy;
  /** Names the stage really missing when a call fails; the shards of the chain come from it too. */
  readonly topology?: Topology;
  readonly log?: Pick<Logger, 'warn'>;
  /** Told of every stage call: its time and outcome, its frame sizes, and when it is sent again. */
  readonly observer?: StageCallObserver;
}

/**
 * What the pipeline reports of its stage calls (the metrics implement it).
 * `stage` is the stage a call enters the chain at (`text-encoder`,
 * `denoise.0`, `vae-decoder`); nothing about the request itself is passed.
 */
export interface StageCallObserver {
  /** One try of a call ended after `seconds`: `ok`, or the SPOOL_ERR_* code it failed with. */
  called(stage: string, outcome: string, seconds: number): void;
  /** A try failed with `code` and the call is sent again. */
  retried(stage: string, code: string): void;
  /** A frame of `bytes` went to the stage (`sent`) or came back from the call (`received`). */
  moved(stage: string, direction: 'sent' | 'received', bytes: number): void;
}

/** The stages a call went through: fixed labels, or every denoiser shard of the live topology. */
type Involved = readonly string[] | 'denoiser chain';

export class NatsPipeline implements Pipeline {
  private readonly caller: StageCaller;

  constructor(private readonly opts: NatsPipelineOptions) {
    this.caller = new StageCaller(opts.nc, { lostAfterMs: opts.lostAfterMs, frameLimits: opts.frameLimits });
  }

  /** Stops receiving answers; calls in flight fail. */
  close(): void {
    this.caller.close();
  }

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
    // The VAE forwards the frames to its video encoder with this meta.
    const request: WireMessage = { meta: { video: { ...video } }, tensors: { latents } };
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
    const frame = encodeFrame(message);
    const watch = connectionWatch(this.opts.nc);
    const observer = this.opts.observer;
    const onFrame = observer && ((direction: 'sent' | 'received', bytes: number): void => observer.moved(stage, direction, bytes));
    try {
      return await withRetry(
        async (attempt) => {
          const problem = watch?.problem();
          if (problem) throw wireError('SPOOL_ERR_BUS_UNAVAILABLE', `cannot call ${stage}: ${problem}`, { stage });
          const started = performance.now();
          try {
            const reply = await this.caller.call(subject, frame, {
              stage,
              timeoutMs: this.opts.stageTimeoutMs,
              signal,
              spanName,
              attempt,
              onFrame,
            });
            observer?.called(stage, 'ok', (performance.now() - started) / 1000);
            return reply;
          } catch (err) {
            observer?.called(stage, errorCode(err), (performance.now() - started) / 1000);
            throw err;
          }
        },
        this.opts.retry ?? DEFAULT_RETRY,
        signal,
        {
          onRetry: (err, next, delayMs) => {
            countRetry();
            observer?.retried(stage, errorCode(err));
            this.opts.log?.warn(
              { stage, code: isSpoolError(err) ? err.code : undefined, attempt: next, delay_ms: delayMs },
              `${(err as Error).message}; sending the call to ${stage} again (try ${next})`,
            );
          },
          ready: (until) => waitConnected(watch, until, signal),
        },
      );
    } catch (err) {
      throw await this.explain(err, involved, stage);
    }
  }

  /** Names the stage that is really missing when a call finds nobody, goes silent or times out. */
  private async explain(err: unknown, involved: Involved, stage: string): Promise<unknown> {
    if (!isSpoolError(err) || !this.opts.topology) return err;
    if (err.code !== 'SPOOL_ERR_STAGE_UNAVAILABLE' && err.code !== 'SPOOL_ERR_STAGE_TIMEOUT' && err.code !== 'SPOOL_ERR_CALL_LOST') return err;
    const snap = await this.opts.topology.snapshot({ fresh: true });
    if (snap.error) return err;
    const labels = involved === 'denoiser chain' ? snap.denoiser.shards.map((s) => s.label) : involved;
    const gone = labels.filter((label) => snap.missing.includes(label));
    if (gone.length === 0) return err;
    const what = err.code === 'SPOOL_ERR_STAGE_TIMEOUT' ? 'timed out' : err.code === 'SPOOL_ERR_CALL_LOST' ? 'was lost' : 'found no worker';
    const detail = gone.length === 1 ? `${gone[0]} has no live worker` : `${gone.join(', ')} have no live worker`;
    return wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `${detail} (the call to ${stage} ${what})`, { stage: gone[0], cause: err });
  }
}

/** Waits, until `until` at most, for a connection that is down to come back. */
async function waitConnected(watch: ReturnType<typeof connectionWatch>, until: number, signal?: AbortSignal): Promise<void> {
  while (watch && !watch.connected && Date.now() < until && !signal?.aborted) await new Promise((r) => setTimeout(r, 100));
}

/** The registry code of a failure; anything untyped counts as internal. */
function errorCode(err: unknown): string {
  return isSpoolError(err) ? err.code : 'SPOOL_ERR_INTERNAL';
}

function float32(reply: WireMessage, name: string, stage: string): Tensor<'float32'> {
  const t = reply.tensors[name];
  if (!t || t.dtype !== 'float32') throw badMessage(stage, `the reply has no float32 tensor "${name}"`);
  return tensor('float32', t.shape, t.data as Float32Array);
}

function badMessage(stage: string, detail: string): Error {
  return wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: ${detail}`, { stage });
}
