/**
 * A layout checked against a model and turned into the list of worker
 * processes to run. Pure: the layout and the model's name and block count in,
 * a frozen `ResolvedLayout` out, or a `ConfigError` naming the file, the JSON
 * path and how to fix it.
 *
 * The denoiser's shards must chain: shard 0 starts at block 0, each next one
 * where the previous one ends, the last one ends at the model's block count,
 * and every shard holds at least one block. Shards without ranges split the
 * blocks evenly (earlier shards take the extra ones).
 */
import { ConfigError, deepFreeze, stageLabel, type ModelManifest, type StageRole } from '@spool/shared';
import { formatRange, splitBlocks, type BlockRange } from '@spool/stages';
import type { DeviceChoice, Layout, ResolvedLayout, ResolvedShard, WorkerProcess } from './types.ts';

export interface ModelFacts {
  readonly name: string;
  /** Transformer blocks in the manifest. */
  readonly blockCount: number;
}

export function modelFacts(manifest: ModelManifest): ModelFacts {
  return { name: manifest.name, blockCount: manifest.transformer.blocks.length };
}

export function resolveLayout(layout: Layout, model: ModelFacts, source: string): ResolvedLayout {
  const ranges = shardRanges(layout, model, source);
  const shardCount = ranges.length;
  const workers: WorkerProcess[] = [];
  const add = (role: StageRole, replicas: number, device: DeviceChoice, threads: number | undefined, shard?: number, blocks?: BlockRange): void => {
    const stage = stageLabel(role, shard);
    for (let replica = 0; replica < replicas; replica++) {
      workers.push({
        label: replicaLabel(stage, replica, replicas),
        stage,
        role,
        ...(shard === undefined ? {} : { shard, shards: shardCount, blocks }),
        device: typeof device === 'string' ? device : device[replica],
        ...(threads === undefined ? {} : { threads }),
        replica,
        replicas,
      });
    }
  };
  const te = layout['text-encoder'];
  add('text-encoder', te.replicas, te.device, te.threads);
  const shards: ResolvedShard[] = layout.denoiser.map((s, shard) => {
    add('denoiser', s.replicas, s.device, s.threads, shard, ranges[shard]);
    return { shard, stage: stageLabel('denoiser', shard), blocks: ranges[shard], replicas: s.replicas };
  });
  const vae = layout['vae-decoder'];
  add('vae-decoder', vae.replicas, vae.device, vae.threads);
  add('video-encoder', layout['video-encoder'].replicas, 'cpu', undefined);
  const description = layout.description === undefined ? {} : { description: layout.description };
  return deepFreeze({ source, ...description, model: model.name, blockCount: model.blockCount, shards, workers });
}

/** `denoise.0` when the stage has one worker; `denoise.0#0`, `denoise.0#1`, … when it has several. */
export function replicaLabel(stage: string, replica: number, replicas: number): string {
  return replicas === 1 ? stage : `${stage}#${replica}`;
}

function shardRanges(layout: Layout, model: ModelFacts, source: string): BlockRange[] {
  const shards = layout.denoiser;
  const count = model.blockCount;
  const fail = (path: string, message: string): never => {
    throw new ConfigError(`${source}: ${path} ${message}`);
  };
  if (shards.every((s) => s.blocks === undefined)) {
    if (shards.length > count) {
      fail(
        'denoiser',
        `has ${shards.length} shards but model ${model.name} has ${count} transformer block${count === 1 ? '' : 's'}: ` +
          `every shard needs at least one block, so use ${count} shard${count === 1 ? '' : 's'} or fewer`,
      );
    }
    return splitBlocks(count, shards.length);
  }
  const ranges = shards.map((s) => s.blocks as BlockRange);
  let end = 0;
  ranges.forEach((r, i) => {
    const path = `denoiser[${i}].blocks`;
    const suggest = `e.g. "${end}:${i === ranges.length - 1 ? count : Math.min(count, Math.max(end + 1, r.end))}"`;
    if (i === 0 && r.start !== 0) fail(path, `"${formatRange(r)}" must start at block 0 (the first shard runs the embedding that feeds block 0); ${suggest}`);
    if (i > 0 && r.start !== end) {
      fail(path, `"${formatRange(r)}" must start at block ${end}, where denoiser[${i - 1}] ("${formatRange(ranges[i - 1])}") ends: the shards' blocks must chain with no gap or overlap; ${suggest}`);
    }
    if (r.end > count) fail(path, `"${formatRange(r)}" goes past the end of model ${model.name}, which has ${count} transformer blocks (0:${count}); ${suggest}`);
    if (i === ranges.length - 1 && r.end !== count) {
      fail(path, `"${formatRange(r)}" must end at block ${count}: the last shard runs the model's remaining blocks (model ${model.name} has ${count}); ${suggest}`);
    }
    end = r.end;
  });
  return ranges;
}
