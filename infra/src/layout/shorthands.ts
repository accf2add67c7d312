/**
 * The environment's shorthands over a layout, applied before it is resolved:
 *
 * - `SPOOL_SHARDS=K`: the denoiser in K shards with evenly split blocks; shard
 *   i keeps the replicas, device and threads of the layout's shard i (or of
 *   its last shard, for the extra ones).
 * - `SPOOL_REPLICAS=N`: N workers of every stage and every shard; a list of
 *   per-replica devices is repeated in turn to cover them.
 * - `SPOOL_DEVICE=D`: every model worker on D (the video encoder stays on the CPU).
 * - `SPOOL_ORT_THREADS=T`: T onnxruntime threads in every model worker.
 *
 * Pure: a layout in, a new one out.
 */
import { deepFreeze } from '@spool/shared';
import type { DeviceChoice, Layout, ModelStageSpec, Shorthands } from './types.ts';

export function applyShorthands(layout: Layout, sh: Shorthands): Layout {
  let shards = layout.denoiser;
  if (sh.shards !== undefined) {
    shards = Array.from({ length: sh.shards }, (_, i) => {
      const { blocks: _blocks, ...settings } = layout.denoiser[Math.min(i, layout.denoiser.length - 1)];
      return settings;
    });
  }
  const stage = <T extends ModelStageSpec>(s: T): T => {
    const replicas = sh.replicas ?? s.replicas;
    const device = sh.device ?? repeatDevices(s.device, replicas);
    return { ...s, replicas, device, threads: sh.threads ?? s.threads };
  };
  return deepFreeze({
    ...layout,
    'text-encoder': stage(layout['text-encoder']),
    denoiser: shards.map(stage),
    'vae-decoder': stage(layout['vae-decoder']),
    'video-encoder': { replicas: sh.replicas ?? layout['video-encoder'].replicas },
  });
}

/** The shorthands as the variables that set them, for messages: `SPOOL_SHARDS=3, SPOOL_REPLICAS=2`. */
export function describeShorthands(sh: Shorthands): string {
  const parts: string[] = [];
  if (sh.shards !== undefined) parts.push(`SPOOL_SHARDS=${sh.shards}`);
  if (sh.replicas !== undefined) parts.push(`SPOOL_REPLICAS=${sh.replicas}`);
  if (sh.device !== undefined) parts.push(`SPOOL_DEVICE=${sh.device}`);
  if (sh.threads !== undefined) parts.push(`SPOOL_ORT_THREADS=${sh.threads}`);
  return parts.join(', ');
}

function repeatDevices(device: DeviceChoice, replicas: number): DeviceChoice {
  if (typeof device === 'string' || device.length === replicas) return device;
  return Array.from({ length: replicas }, (_, i) => device[i % device.length]);
}
