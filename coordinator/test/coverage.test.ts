/** The denoiser chain checked from discovery, pure: fake discovered workers in, shards and problems out. */
import type { WorkerInfo } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { checkCoverage, pipelineDepth } from '../src/coverage.ts';

let ids = 0;
/** A live denoiser worker as discovery reports it; `shards` null: it does not advertise a shard count. */
function shard(index: number, blocks: string | undefined, shards: number | null = 3): WorkerInfo {
  return {
    id: `w${ids++}`,
    service: `spool-denoise-${index}`,
    model: 'm',
    role: 'denoiser',
    shard: index,
    shards: shards ?? undefined,
    blocks,
    device: 'cpu',
    subject: `spool.m.denoise.${index}`,
    version: '0.1.0',
  };
}

/** Three shards over six blocks. */
const chain = (): WorkerInfo[] => [shard(0, '0:2'), shard(1, '2:4'), shard(2, '4:6')];

describe('checkCoverage', () => {
  it('is complete when the ranges chain from block 0 to the last block', () => {
    const c = checkCoverage(chain(), 6);
    expect(c).toEqual({
      blockCount: 6,
      shardCount: 3,
      shards: [
        { shard: 0, label: 'denoise.0', blocks: { start: 0, end: 2 }, replicas: 1 },
        { shard: 1, label: 'denoise.1', blocks: { start: 2, end: 4 }, replicas: 1 },
        { shard: 2, label: 'denoise.2', blocks: { start: 4, end: 6 }, replicas: 1 },
      ],
      missing: [],
      problems: [],
    });
  });

  it('names the last shard when it has no live worker, from where coverage stops', () => {
    const c = checkCoverage(chain().slice(0, 2), 6);
    expect(c.missing).toEqual(['denoise.2']);
    expect(c.problems).toEqual(['blocks 4:6 have no live worker (denoise.2)']);
    expect(c.shards[2]).toEqual({ shard: 2, label: 'denoise.2', replicas: 0 });
  });

  it('names a missing middle shard with the blocks between its neighbours', () => {
    const [a, , c] = chain();
    const cov = checkCoverage([a, c], 6);
    expect(cov.missing).toEqual(['denoise.1']);
    expect(cov.problems).toEqual(['blocks 2:4 have no live worker (denoise.1)']);
  });

  it('takes the shard count from the other shards when shard 0 is missing', () => {
    const [, b, c] = chain();
    expect(checkCoverage([b, c], 6)).toMatchObject({ shardCount: 3, missing: ['denoise.0'], problems: ['blocks 0:2 have no live worker (denoise.0)'] });
  });

  it('names two missing shards in a row in one sentence', () => {
    expect(checkCoverage([shard(0, '0:2')], 6)).toMatchObject({ missing: ['denoise.1', 'denoise.2'], problems: ['blocks 2:6 have no live worker (denoise.1, denoise.2)'] });
  });

  it('wants denoise.0 when no denoiser is live at all', () => {
    expect(checkCoverage([], 6)).toMatchObject({ shardCount: 1, missing: ['denoise.0'], problems: ['blocks 0:6 have no live worker (denoise.0)'] });
  });

  it('counts replicas of one shard, and the pipeline depth from the fewest', () => {
    const workers = [...chain(), shard(1, '2:4'), shard(0, '0:2'), shard(1, '2:4')];
    const c = checkCoverage(workers, 6);
    expect(c.missing).toEqual([]);
    expect(c.shards.map((s) => s.replicas)).toEqual([2, 3, 1]);
    expect(pipelineDepth(c)).toBe(3);
    expect(pipelineDepth(checkCoverage([...workers, shard(2, '4:6')], 6))).toBe(6);
    // A missing shard leaves a depth of at least one.
    expect(pipelineDepth(checkCoverage(chain().slice(0, 2), 6))).toBe(1);
  });

  it('refuses a shard whose replicas disagree on their blocks, saying how', () => {
    const c = checkCoverage([shard(0, '0:3', 2), shard(1, '3:6', 2), shard(1, '2:6', 2)], 6);
    expect(c.missing).toEqual(['denoise.1']);
    expect(c.problems).toEqual(['denoise.1 workers disagree on their blocks: 3:6 and 2:6']);
    expect(c.shards[1]).toEqual({ shard: 1, label: 'denoise.1', replicas: 2 });
  });

  it('refuses a shard whose replicas disagree on the shard count', () => {
    const c = checkCoverage([shard(0, '0:3', 2), shard(1, '3:6', 2), shard(1, '3:6', 3)], 6);
    expect(c.missing).toEqual(['denoise.1']);
    expect(c.problems).toEqual(['denoise.1 workers disagree on the shard count: 2 and 3']);
  });

  it('refuses a shard started for another shard count than denoise.0', () => {
    const c = checkCoverage([shard(0, '0:3', 2), shard(1, '3:6', 3)], 6);
    expect(c.missing).toEqual(['denoise.1']);
    expect(c.problems).toEqual(['denoise.1 was started for 3 shards, denoise.0 for 2']);
  });

  it('refuses ranges that do not chain, or do not reach the last block', () => {
    expect(checkCoverage([shard(0, '0:2', 2), shard(1, '3:6', 2)], 6)).toMatchObject({
      missing: ['denoise.1'],
      problems: ["denoise.1 holds blocks 3:6 but denoise.0 ends at block 2: the shards' blocks must chain from 0 to 6"],
    });
    expect(checkCoverage([shard(0, '1:3', 2), shard(1, '3:6', 2)], 6)).toMatchObject({
      missing: ['denoise.0'],
      problems: ['denoise.0 holds blocks 1:3 but the chain must start at block 0'],
    });
    expect(checkCoverage([shard(0, '0:3', 2), shard(1, '3:5', 2)], 6)).toMatchObject({
      missing: ['denoise.1'],
      problems: ['denoise.1 ends at block 5 but the model has 6 blocks: the last shard must end at block 6'],
    });
  });

  it('refuses a shard that advertises no block range', () => {
    expect(checkCoverage([shard(0, undefined, 1)], 6)).toMatchObject({
      missing: ['denoise.0'],
      problems: ['denoise.0 advertises no usable block range (null); restart it with --blocks a:b'],
    });
  });

  it('follows the blocks when workers do not advertise a shard count', () => {
    expect(checkCoverage([shard(0, '0:3', null), shard(1, '3:6', null)], 6)).toMatchObject({ shardCount: 2, missing: [], problems: [] });
    expect(checkCoverage([shard(0, '0:3', null)], 6)).toMatchObject({
      shardCount: 2,
      missing: ['denoise.1'],
      problems: ['blocks 3:6 have no live worker (denoise.1)'],
    });
  });
});
