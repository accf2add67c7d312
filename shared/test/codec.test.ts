import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError, tensor } from '../src/index.ts';
import { entry, frameAround, rawFrame } from './frame-builder.ts';

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

  it('refuses tensor names that are not identifier-like or that every object has, when encoding too', () => {
    const x = tensor('uint8', [1], new Uint8Array(1));
    expect(() => encodeFrame({ meta: {}, tensors: { 'a b': x } })).toThrow(FrameError);
    expect(() => encodeFrame({ meta: {}, tensors: { ['__proto__']: x } })).toThrow(/"__proto__" is reserved/);
    expect(() => encodeFrame({ meta: {}, tensors: { constructor: x } })).toThrow(/"constructor" is reserved/);
    expect(Object.keys(decodeFrame(encodeFrame({ meta: {}, tensors: { 'blocks.0/out:1': x } })).tensors)).toEqual(['blocks.0/out:1']);
  });

  it('refuses at the sender what no receiver accepts: too many tensors or dimensions', () => {
    const x = tensor('uint8', [1], new Uint8Array(1));
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`t${i}`, x]));
    expect(() => encodeFrame({ meta: {}, tensors: many })).toThrow(/at most 64 tensors, this message has 65/);
    const deep = tensor('uint8', new Array(9).fill(1), new Uint8Array(1));
    expect(() => encodeFrame({ meta: {}, tensors: { deep } })).toThrow(/tensor "deep" has 9 dimensions, at most 8 travel/);
  });
});

describe('frame codec under hostile frames', () => {
  const area8 = new Uint8Array(8);
  it.each([
    ['an envelope that is not msgpack', frameAround(Uint8Array.from([0xc1, 0xc1])), /envelope is not valid msgpack: Unrecognized type byte/],
    ['an envelope that is not a map', rawFrame([1, 2]), /envelope must be a map, got an array of 2/],
    ['another envelope version', rawFrame({ v: 2, meta: {}, tensors: [] }), /unsupported frame envelope version 2/],
    ['meta that is not a map', rawFrame({ v: 1, meta: 'hi', tensors: [] }), /meta must be a map, got "hi"/],
    ['meta that is bytes', rawFrame({ v: 1, meta: new Uint8Array(3), tensors: [] }), /meta must be a map, got 3 raw bytes/],
    ['no meta', rawFrame({ v: 1, tensors: [] }), /meta must be a map, got nothing/],
    ['tensors that are not an array', rawFrame({ v: 1, meta: {}, tensors: {} }), /tensors must be an array of entries, got a map/],
    ['too many tensors', rawFrame({ v: 1, meta: {}, tensors: new Array(65).fill(0) }), /65 tensor entries, at most 64/],
    ['an entry that is not a map', rawFrame({ v: 1, meta: {}, tensors: [null] }), /tensor entry 0 must be a map, got null/],
    ['a name that is not a string', rawFrame({ v: 1, meta: {}, tensors: [entry({ name: { a: 1 } })] }, area8), /tensor entry 0: name must be/],
    ['the name __proto__', rawFrame({ v: 1, meta: {}, tensors: [entry({ name: '__proto__' })] }, area8), /"__proto__" is reserved/],
    ['an unknown dtype', rawFrame({ v: 1, meta: {}, tensors: [entry({ dtype: 'float16' })] }, area8), /tensor "x": unknown dtype "float16"/],
    ['a shape that is not an array', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: 5 })] }, area8), /shape must be an array of sizes, got 5/],
    ['a negative dimension', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: [-1, -2] })] }, area8), /dimension 0 of the shape is -1/],
    ['a fractional dimension', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: [0.5, 4] })] }, area8), /dimension 0 of the shape is 0.5/],
    ['a NaN dimension', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: [NaN] })] }, area8), /dimension 0 of the shape is NaN/],
    ['too many dimensions', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: [2, ...new Array(1000).fill(1)] })] }, area8), /1001 dimensions, at most 8/],
    ['a shape whose size overflows', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: [2 ** 40, 2 ** 40, 2 ** 40] })] }, area8), /needs more than 9007199254740991 bytes, the entry says 8/],
    ['a shape larger than its bytes', rawFrame({ v: 1, meta: {}, tensors: [entry({ shape: [3] })] }, area8), /shape \[3\] of float32 needs 12 bytes, the entry says 8/],
    ['a negative offset', rawFrame({ v: 1, meta: {}, tensors: [entry({ offset: -8 })] }, area8), /offset is -8, not a non-negative integer/],
    ['an unaligned offset', rawFrame({ v: 1, meta: {}, tensors: [entry({ offset: 2 })] }, new Uint8Array(16)), /offset 2 is not a multiple of 8/],
    ['a tensor outside the frame', rawFrame({ v: 1, meta: {}, tensors: [entry({ offset: 8 })] }, area8), /bytes 8..16 lie outside the frame's tensor area of 8 bytes/],
    ['overlapping tensors', rawFrame({ v: 1, meta: {}, tensors: [entry(), entry({ name: 'y' })] }, area8), /tensor "y" \(bytes 0..8\) overlaps tensor "x"/],
    ['a duplicate name', rawFrame({ v: 1, meta: {}, tensors: [entry(), entry({ offset: 8 })] }, new Uint8Array(16)), /tensor "x" appears twice/],
    ['trailing garbage', rawFrame({ v: 1, meta: {}, tensors: [] }, new Uint8Array(4096)), /4096 bytes of trailing garbage/],
    ['missing padding', rawFrame({ v: 1, meta: {}, tensors: [entry({ dtype: 'uint8', shape: [3], length: 3 })] }, new Uint8Array(3)), /5 bytes short/],
  ])('%s: FrameError', (_name, frame, message) => {
    let caught: unknown;
    try {
      decodeFrame(frame);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as Error).message).toMatch(message);
  });

  it('still reads a hand-built frame with a gap and a zero-sized tensor', () => {
    const area = new Uint8Array(24);
    new Float32Array(area.buffer, 16, 2).set([1.5, -2]);
    const out = decodeFrame(rawFrame({ v: 1, meta: { k: 1 }, tensors: [entry({ offset: 16 }), entry({ name: 'e', shape: [0, 3], length: 0, offset: 0 })] }, area));
    expect(Array.from(out.tensors.x.data as Float32Array)).toEqual([1.5, -2]);
    expect(out.tensors.e.shape).toEqual([0, 3]);
  });
});
