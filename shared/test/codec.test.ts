import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError, tensor } from '../src/index.ts';

describe('frame codec', () => {
  it('round-trips meta and tensors of every dtype', () => {
    const f = tensor('float32', [2, 3], Float32Array.from([1, 2, 3, 4, 5, -6.5]));
    const i = tensor('int64', [3], BigInt64Array.from([1n, -2n, 3n]));
    const u = tensor('uint8', [5], Uint8Array.from([0, 1, 2, 254, 255]));
    const frame = encodeFrame({ meta: { prompts: ['a red circle'], step: 3 }, tensors: { f, i, u } });
    const out = decodeFrame(frame);
    expect(out.meta).toEqual({ prompts: ['a red circle'], step: 3 });
    expect(out.tensors.f.shape).toEqual([2, 3]);
    expect(Array.from(out.tensors.f.data as Float32Array)).toEqual([1, 2, 3, 4, 5, -6.5]);
    expect(Array.from(out.tensors.i.data as BigInt64Array)).toEqual([1n, -2n, 3n]);
    expect(Array.from(out.tensors.u.data as Uint8Array)).toEqual([0, 1, 2, 254, 255]);
  });

  it('decodes tensors as views over the frame, without copying', () => {
    const frame = encodeFrame({ meta: {}, tensors: { x: tensor('float32', [4], new Float32Array([1, 2, 3, 4])) } });
    const out = decodeFrame(frame);
    expect(out.tensors.x.data.buffer).toBe(frame.buffer);
    expect(out.tensors.x.data.byteOffset % 8).toBe(0);
  });

  it('copies once when the frame sits at an unaligned offset', () => {
    const frame = encodeFrame({ meta: { k: 1 }, tensors: { x: tensor('float32', [3], new Float32Array([7, 8, 9])) } });
    const shifted = new Uint8Array(frame.byteLength + 3);
    shifted.set(frame, 3);
    const out = decodeFrame(shifted.subarray(3));
    expect(Array.from(out.tensors.x.data as Float32Array)).toEqual([7, 8, 9]);
  });

  it('keeps every tensor 8-byte aligned after odd-sized ones', () => {
    const frame = encodeFrame({
      meta: {},
      tensors: { a: tensor('uint8', [3], new Uint8Array([1, 2, 3])), b: tensor('int64', [1], BigInt64Array.from([9n])) },
    });
    const out = decodeFrame(frame);
    expect((out.tensors.b.data as BigInt64Array)[0]).toBe(9n);
  });

  it('rejects bytes that are not a frame and truncated frames', () => {
    expect(() => decodeFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(FrameError);
    const frame = encodeFrame({ meta: {}, tensors: { x: tensor('float32', [64], new Float32Array(64)) } });
    expect(() => decodeFrame(frame.subarray(0, frame.byteLength - 16))).toThrow(/truncated/);
  });

  it('refuses a tensor whose data does not match its shape', () => {
    expect(() => tensor('float32', [2, 2], new Float32Array(3))).toThrow(/needs 4 elements/);
  });
});
