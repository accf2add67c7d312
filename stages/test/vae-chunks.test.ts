/** The chunked decode's plain parts: chunk bounds, cache links, slicing and joining frames. */
import { describe, expect, it } from 'vitest';
import { tensor } from '@spool/shared';
import { cacheLinks, chunkBounds, concatFrames, sliceFrames } from '../src/index.ts';

describe('chunkBounds', () => {
  it('gives the first chunk the odd frame, as the model decodes', () => {
    expect(chunkBounds(13, 2)).toEqual([[0, 3], [3, 5], [5, 7], [7, 9], [9, 11], [11, 13]]);
    expect(chunkBounds(4, 2)).toEqual([[0, 2], [2, 4]]);
    expect(chunkBounds(3, 2)).toEqual([[0, 3]]);
    expect(chunkBounds(1, 2)).toEqual([[0, 1]]);
    expect(chunkBounds(2, 2)).toEqual([[0, 2]]);
    expect(chunkBounds(8, 3)).toEqual([[0, 5], [5, 8]]);
  });

  it('covers every frame once', () => {
    for (let f = 1; f <= 30; f++) {
      for (const b of [1, 2, 3, 5]) {
        const covered = chunkBounds(f, b).flatMap(([s, e]) => Array.from({ length: e - s }, (_, i) => s + i));
        expect(covered).toEqual(Array.from({ length: f }, (_, i) => i));
      }
    }
  });

  it('rejects nonsense', () => {
    expect(() => chunkBounds(0, 2)).toThrow(/cannot chunk 0 latent frames in batches of 2/);
    expect(() => chunkBounds(3, 0)).toThrow(/batches of 0/);
  });
});

describe('cacheLinks', () => {
  const names = ['conv_in', 'up_blocks.0.resnets.0.conv1'];
  const outputs = ['frames', ...names.map((n) => `conv_cache_out.${n}`)];
  const next = { label: 'next.onnx', inputNames: ['latents', ...names.map((n) => `conv_cache.${n}`)], outputNames: outputs };

  it('pairs each cache output with the next graph input of the same conv', () => {
    expect(cacheLinks({ label: 'first.onnx', outputNames: outputs }, next)).toEqual([
      { input: 'conv_cache.conv_in', output: 'conv_cache_out.conv_in' },
      { input: 'conv_cache.up_blocks.0.resnets.0.conv1', output: 'conv_cache_out.up_blocks.0.resnets.0.conv1' },
    ]);
  });

  it('names what does not fit', () => {
    const first = { label: 'first.onnx', outputNames: outputs };
    expect(() => cacheLinks({ label: 'first.onnx', outputNames: ['frames'] }, next)).toThrow(
      'first.onnx must give frames and conv_cache_out.<conv> outputs for a chunked decode (gives frames)',
    );
    expect(() => cacheLinks(first, { ...next, inputNames: ['latents', 'conv_cache.conv_in', 'temb'] })).toThrow(
      "next.onnx does not take first.onnx's conv cache: it lacks the inputs conv_cache.up_blocks.0.resnets.0.conv1 and has unexpected inputs temb",
    );
    expect(() => cacheLinks(first, { ...next, inputNames: ['latents'] })).toThrow(/it lacks the inputs conv_cache.conv_in, conv_cache.up_blocks/);
    expect(() => cacheLinks(first, { ...next, outputNames: ['frames'] })).toThrow(
      'next.onnx lacks the outputs conv_cache_out.conv_in, conv_cache_out.up_blocks.0.resnets.0.conv1 that the chunked decode passes on',
    );
  });
});

describe('sliceFrames and concatFrames', () => {
  // [B=2, T=3, 2] with value 100·b + 10·t + i
  const t = tensor('float32', [2, 3, 2], Float32Array.from([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121]));

  it('slices frames of every batch item, scaled', () => {
    const s = sliceFrames(t, 1, 3, 0.5);
    expect(s.shape).toEqual([2, 2, 2]);
    expect([...s.data]).toEqual([5, 5.5, 10, 10.5, 55, 55.5, 60, 60.5]);
    expect([...sliceFrames(t, 0, 1).data]).toEqual([0, 1, 100, 101]);
    expect(() => sliceFrames(t, 2, 4)).toThrow(/frames \[2, 4\) are outside 0..3/);
  });

  it('joins chunks back along the frame axis', () => {
    const joined = concatFrames([sliceFrames(t, 0, 1), sliceFrames(t, 1, 3)]);
    expect(joined.shape).toEqual([2, 3, 2]);
    expect([...joined.data]).toEqual([...t.data]);
    const bytes = concatFrames([tensor('uint8', [1, 1, 2], Uint8Array.from([1, 2])), tensor('uint8', [1, 2, 2], Uint8Array.from([3, 4, 5, 6]))]);
    expect(bytes.dtype).toBe('uint8');
    expect([...bytes.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => concatFrames([t, tensor('float32', [1, 3, 2], new Float32Array(6))])).toThrow(/cannot join frames \[1, 3, 2\]/);
  });
});
