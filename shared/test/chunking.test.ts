import { describe, expect, it } from 'vitest';
import { ChunkJoiner, chunkAt, formatChunkAnnounce, parseChunkAnnounce, planChunks } from '../src/index.ts';

describe('chunking', () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

  it('splits into ceil(total/size) chunks and joins them in any order', () => {
    const plan = planChunks(bytes.byteLength, 300);
    expect(plan.count).toBe(4);
    const joiner = new ChunkJoiner(plan);
    for (const i of [3, 1, 0, 2]) joiner.add(i, chunkAt(bytes, plan, i));
    expect(joiner.complete).toBe(true);
    expect(joiner.result()).toEqual(bytes);
  });

  it('reports missing chunks and rejects wrong sizes', () => {
    const plan = planChunks(bytes.byteLength, 300);
    const joiner = new ChunkJoiner(plan);
    joiner.add(0, chunkAt(bytes, plan, 0));
    expect(() => joiner.result()).toThrow(/1 of 4/);
    expect(() => joiner.add(3, new Uint8Array(300))).toThrow(/expected 100/);
    expect(() => chunkAt(bytes, plan, 4)).toThrow(/outside/);
  });

  it('formats and parses the announce header', () => {
    const plan = planChunks(12345, 1000);
    const parsed = parseChunkAnnounce(formatChunkAnnounce(plan, '_INBOX.abc.def'));
    expect(parsed.fetchSubject).toBe('_INBOX.abc.def');
    expect(parsed.plan).toEqual(plan);
    expect(() => parseChunkAnnounce('garbage')).toThrow(/malformed/);
  });
});
