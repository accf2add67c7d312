/**
 * The static facts every span of a worker carries: what it is (model, role,
 * stage, shard) and where it runs (device, onnxruntime threads), from its
 * configuration, plus what its role adds (a denoiser shard's block range).
 * Known at start; nothing here comes from a message.
 */
import { stageLabel } from '@spool/shared';
import type { StageConfig } from '../config.ts';
import { deviceLabel } from '../runtime/device.ts';
import type { LoadedRole, SpanFacts } from './role.ts';

export function workerSpanAttributes(config: StageConfig, model: string, role: Pick<LoadedRole, 'attributes'>): SpanFacts {
  const shard = config.role === 'denoiser' ? config.shard : undefined;
  return {
    'spool.model': model,
    'spool.role': config.role,
    ...(shard === undefined ? {} : { 'spool.shard': shard, 'spool.shards': config.shards }),
    'spool.device': deviceLabel(config.device),
    // ffmpeg runs the video encoder: onnxruntime threads say nothing there.
    ...(config.role === 'video-encoder' ? {} : { 'spool.threads': config.ortThreads }),
    ...role.attributes,
    // The label errors and logs use; the same as the stage the coordinator called.
    'spool.stage': stageLabel(config.role, shard),
  };
}
