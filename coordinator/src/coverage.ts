/**
 * Whether the live denoiser workers cover the model: each advertises its
 * shard, the chain's shard count and its block range, and the ranges of
 * shards 0..K-1 must chain from block 0 to the model's block count. Pure:
 * discovered workers in, the shard list and what is wrong out.
 *
 * Where coverage stops, the shards that would fill it are `missing`
 * (`denoise.1`), with a sentence saying which blocks have no live worker.
 * Replicas of one shard that advertise different ranges or shard counts make
 * that shard untrustworthy: it counts as missing, and the sentence says how
 * they disagree.
 */
import { stageLabel, type WorkerInfo } from '@spool/shared';

export interface BlockSpan {
  readonly start: number;
  readonly end: number;
}

export interface ShardStatus {
  readonly shard: number;
  /** `denoise.<shard>`. */
  readonly label: string;
  /** The range its live workers agree on; absent when none is live or they disagree. */
  readonly blocks?: BlockSpan;
  /** Live workers serving it. */
  readonly replicas: number;
}

export interface DenoiserCoverage {
  /** Transformer blocks of the model (from the manifest). */
  readonly blockCount: number;
  /** Shards in the chain, as the live workers advertise it (1 when none is live). */
  readonly shardCount: number;
  /** Shards 0..shardCount-1. */
  readonly shards: readonly ShardStatus[];
  /** Labels of the shards without a usable live worker, in chain order. */
  readonly missing: readonly string[];
  /** One sentence per problem; empty when the blocks are covered. */
  readonly problems: readonly string[];
}

/** Checks the chain of `denoisers` (live denoiser workers of one model) against the model's `blockCount`. */
export function checkCoverage(denoisers: readonly WorkerInfo[], blockCount: number): DenoiserCoverage {
  const groups = new Map<number, WorkerInfo[]>();
  for (const w of denoisers) {
    if (w.shard === undefined || !Number.isInteger(w.shard) || w.shard < 0) continue;
    groups.set(w.shard, [...(groups.get(w.shard) ?? []), w]);
  }
  const problems: string[] = [];
  const views = new Map<number, ShardView>();
  for (const [shard, ws] of groups) views.set(shard, viewOf(shard, ws, problems));

  const advertised = views.get(0)?.shards ?? mostCommon([...views.values()].map((v) => v.shards));
  let shardCount = advertised ?? Math.max(0, ...views.keys()) + 1;

  const missing: string[] = [];
  const shards: ShardStatus[] = [];
  let end = 0; // where the covered blocks end so far
  let gap: { from: number; labels: string[] } | undefined;
  const closeGap = (to: number): void => {
    if (gap && gap.labels.length > 0) {
      problems.push(`${to > gap.from ? `blocks ${gap.from}:${to}` : 'some blocks'} have no live worker (${gap.labels.join(', ')})`);
    }
    gap = undefined;
  };
  const countedBy = views.get(0)?.shards !== undefined ? 'denoise.0' : 'the other shards';
  for (let shard = 0; shard < shardCount; shard++) {
    const label = stageLabel('denoiser', shard);
    const v = views.get(shard);
    shards.push({ shard, label, ...(v?.blocks ? { blocks: v.blocks } : {}), replicas: v?.replicas ?? 0 });
    if (v && v.usable && v.shards !== undefined && advertised !== undefined && v.shards !== advertised) {
      problems.push(`${label} was started for ${v.shards} shards, ${countedBy} for ${advertised}`);
      v.usable = false;
    }
    if (!v || !v.usable) {
      missing.push(label);
      gap ??= { from: end, labels: [] };
      // A shard whose workers disagree has its own sentence already.
      if (!v) gap.labels.push(label);
      continue;
    }
    const r = v.blocks!;
    if (gap) closeGap(r.start);
    else if (r.start !== end) {
      missing.push(label);
      problems.push(
        shard === 0
          ? `denoise.0 holds blocks ${fmt(r)} but the chain must start at block 0`
          : `${label} holds blocks ${fmt(r)} but ${stageLabel('denoiser', shard - 1)} ends at block ${end}: the shards' blocks must chain from 0 to ${blockCount}`,
      );
    }
    end = r.end;
  }
  if (gap) closeGap(blockCount);
  else if (end !== blockCount) {
    if (advertised === undefined && end < blockCount) {
      // Workers that do not advertise a shard count: the next shard is the one missing.
      const label = stageLabel('denoiser', shardCount);
      shards.push({ shard: shardCount, label, replicas: 0 });
      shardCount++;
      missing.push(label);
      problems.push(`blocks ${end}:${blockCount} have no live worker (${label})`);
    } else {
      const last = stageLabel('denoiser', shardCount - 1);
      if (!missing.includes(last)) missing.push(last);
      problems.push(`${last} ends at block ${end} but the model has ${blockCount} blocks: the last shard must end at block ${blockCount}`);
    }
  }
  return { blockCount, shardCount, shards, missing, problems };
}

/** Shards × the fewest live replicas of any shard: how many denoiser calls keep every worker busy (at least 1). */
export function pipelineDepth(c: DenoiserCoverage): number {
  const fewest = Math.min(...c.shards.map((s) => s.replicas));
  return Math.max(1, c.shardCount * (Number.isFinite(fewest) ? fewest : 0));
}

interface ShardView {
  usable: boolean;
  readonly replicas: number;
  readonly blocks?: BlockSpan;
  readonly shards?: number;
}

function viewOf(shard: number, ws: readonly WorkerInfo[], problems: string[]): ShardView {
  const label = stageLabel('denoiser', shard);
  const ranges = distinct(ws.map((w) => w.blocks ?? 'none'));
  const counts = distinct(ws.map((w) => (w.shards === undefined ? 'unknown' : String(w.shards))));
  const replicas = ws.length;
  if (ranges.length > 1) {
    problems.push(`${label} workers disagree on their blocks: ${ranges.join(' and ')}`);
    return { usable: false, replicas };
  }
  if (counts.length > 1) {
    problems.push(`${label} workers disagree on the shard count: ${counts.join(' and ')}`);
    return { usable: false, replicas };
  }
  const shards = ws[0].shards;
  const blocks = parseSpan(ws[0].blocks);
  if (!blocks) {
    problems.push(`${label} advertises no usable block range (${JSON.stringify(ws[0].blocks ?? null)}); restart it with --blocks a:b`);
    return { usable: false, replicas, shards };
  }
  return { usable: true, replicas, blocks, shards };
}

function parseSpan(text: string | undefined): BlockSpan | undefined {
  const m = text === undefined ? null : /^(\d+):(\d+)$/.exec(text);
  if (!m || Number(m[2]) <= Number(m[1])) return undefined;
  return { start: Number(m[1]), end: Number(m[2]) };
}

function fmt(r: BlockSpan): string {
  return `${r.start}:${r.end}`;
}

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/** The most frequent defined value (the smallest on a tie). */
function mostCommon(values: readonly (number | undefined)[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) if (v !== undefined) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | undefined;
  for (const [v, n] of counts) if (best === undefined || n > counts.get(best)! || (n === counts.get(best) && v < best)) best = v;
  return best;
}
