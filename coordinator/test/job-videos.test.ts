/** Reading a stored video: the whole of it or an error, never a wait without end. */
import { describe, expect, it } from 'vitest';
import { readAll, withIdleTimeout } from '../src/jobs/videos.ts';

const streamOf = (chunks: Uint8Array[], thenHang = false): ReadableStream<Uint8Array> => {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else if (!thenHang) c.close();
      // else: no more data and no end, as a stalled consumer
      return thenHang && i >= chunks.length ? new Promise<void>(() => undefined) : undefined;
    },
  });
};

describe('reading a video', () => {
  it('gathers the chunks into one buffer of the size its metadata says', async () => {
    const bytes = await readAll(streamOf([Uint8Array.of(1, 2), Uint8Array.of(3)]), 3);
    expect(Array.from(bytes)).toEqual([1, 2, 3]);
    await expect(readAll(streamOf([Uint8Array.of(1, 2)]), 3)).rejects.toThrow(/ended after 2 of 3 bytes/);
    await expect(readAll(streamOf([Uint8Array.of(1, 2, 3, 4)]), 3)).rejects.toThrow(/longer than the 3 bytes/);
  });

  it('fails a read that stops getting data, instead of waiting for ever', async () => {
    const guarded = withIdleTimeout(streamOf([Uint8Array.of(9)], true), 50, () => new Error('no data came'));
    const reader = guarded.getReader();
    expect(Array.from((await reader.read()).value!)).toEqual([9]);
    await expect(reader.read()).rejects.toThrow('no data came');
  });

  it('passes a stream that keeps coming through whole', async () => {
    const guarded = withIdleTimeout(streamOf([Uint8Array.of(1), Uint8Array.of(2)]), 1_000, () => new Error('stalled'));
    expect(Array.from(await readAll(guarded, 2))).toEqual([1, 2]);
  });
});
