/**
 * How the transformer's blocks are laid out over denoiser shards. Pure
 * functions: a shard holds a contiguous range `start:end` (end exclusive);
 * shard 0 also holds the embed and the last shard the head.
 */
import { ConfigError } from '@spool/shared';

export interface BlockRange {
  readonly start: number;
  readonly end: number;
}

export interface ShardLayout {
  readonly shard: number;
  readonly shards: number;
  readonly blocks: BlockRange;
  /** Shard 0 runs the patch/text/time embedding. */
  readonly hasEmbed: boolean;
  /** The last shard runs the output head and replies. */
  readonly hasHead: boolean;
}

export function formatRange(r: BlockRange): string {
  return `${r.start}:${r.end}`;
}

/** Splits `count` blocks into `shards` contiguous ranges; earlier shards get the extra blocks. */
export function splitBlocks(count: number, shards: number): BlockRange[] {
  if (!Number.isInteger(count) || count < 1) throw new ConfigError(`the model must have at least one transformer block (got ${count})`);
  if (!Number.isInteger(shards) || shards < 1) throw new ConfigError(`--shards must be a positive integer (got ${shards})`);
  if (shards > count) {
    throw new ConfigError(`cannot split ${count} transformer blocks into ${shards} shards: use --shards ${count} or fewer`);
  }
  const base = Math.floor(count / shards);
  const extra = count % shards;
  const out: BlockRange[] = [];
  let start = 0;
  for (let i = 0; i < shards; i++) {
    const end = start + base + (i < extra ? 1 : 0);
    out.push({ start, end });
    start = end;
  }
  return out;
}

/** Parses `a:b` (end exclusive). */
export function parseBlocks(text: string): BlockRange {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) throw new ConfigError(`--blocks ${JSON.stringify(text)} must look like a:b (first block, one past the last), e.g. --blocks 0:2`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end <= start) throw new ConfigError(`--blocks ${text} is empty: the end must be greater than the start (e.g. --blocks ${start}:${start + 1})`);
  return { start, end };
}

/** Resolves the layout of one shard, checking it against the model's block count. */
export function resolveLayout(opts: { shard: number; shards: number; blocks?: BlockRange; blockCount: number }): ShardLayout {
  const { shard, shards, blockCount } = opts;
  if (!Number.isInteger(shards) || shards < 1) throw new ConfigError(`--shards must be a positive integer (got ${shards})`);
  if (!Number.isInteger(shard) || shard < 0 || shard >= shards) {
    throw new ConfigError(`--shard ${shard} is out of range for --shards ${shards} (use 0..${shards - 1})`);
  }
  const isLast = shard === shards - 1;
  let blocks: BlockRange;
  if (opts.blocks) {
    blocks = opts.blocks;
    if (blocks.end > blockCount) {
      throw new ConfigError(`--blocks ${formatRange(blocks)} is outside the model's ${blockCount} blocks (valid ranges lie within 0:${blockCount})`);
    }
    if (shard === 0 && blocks.start !== 0) {
      throw new ConfigError(`shard 0 must start at block 0 (got --blocks ${formatRange(blocks)}): the embed feeds block 0`);
    }
    if (isLast && blocks.end !== blockCount) {
      throw new ConfigError(
        `the last shard (${shard} of ${shards}) must end at block ${blockCount} (got --blocks ${formatRange(blocks)}): the head reads the last block's output`,
      );
    }
  } else {
    blocks = splitBlocks(blockCount, shards)[shard];
  }
  return Object.freeze({ shard, shards, blocks: Object.freeze({ ...blocks }), hasEmbed: shard === 0, hasHead: isLast });
}
