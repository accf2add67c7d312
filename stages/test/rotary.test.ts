/** 3D rotary tables without PyTorch: the crop region, the layout of a table, the per-F cache. */
import { describe, expect, it } from 'vitest';
import type { TransformerRotary } from '@spool/shared';
import { resizeCropRegion, RotaryCache, rotaryTables } from '../src/denoiser/rotary.ts';

const tiny: TransformerRotary = { type: '3d', head_dim: 16, theta: 10000, base_height: 4, base_width: 6 };

describe('resizeCropRegion', () => {
  it('is the whole base grid for the grid the model was trained at', () => {
    expect(resizeCropRegion(30, 45, 30, 45)).toEqual({ top: 0, left: 0, bottom: 30, right: 45 });
  });

  it('centres a grid of another aspect, rounding halves to even as Python does', () => {
    // 30 x 40 fills the height; (45 - 40) / 2 = 2.5 rounds to 2
    expect(resizeCropRegion(30, 40, 30, 45)).toEqual({ top: 0, left: 2, bottom: 30, right: 42 });
    // 34 x 45 is taller: width 45 * 30 / 34 = 39.7 -> 40, left (45 - 40) / 2 = 2.5 -> 2
    expect(resizeCropRegion(34, 45, 30, 45)).toEqual({ top: 0, left: 2, bottom: 30, right: 42 });
    // 20 x 45 is wider: height 45 / 45 * 20 = 20, top (30 - 20) / 2 = 5
    expect(resizeCropRegion(20, 45, 30, 45)).toEqual({ top: 5, left: 0, bottom: 25, right: 45 });
  });
});

describe('rotaryTables', () => {
  it('lays out time, rows and columns per token, each frequency on a channel pair', () => {
    const { cos, sin } = rotaryTables(tiny, 4, 6, 2);
    expect(cos.length).toBe(2 * 4 * 6 * 16);
    const at = (t: Float32Array, f: number, y: number, x: number, c: number) => t[((f * 4 + y) * 6 + x) * 16 + c];
    // channels 0..3 time (frequencies 1, 1/100), 4..9 rows, 10..15 columns (frequencies 1, θ^(-1/3), θ^(-2/3))
    for (const [f, y, x] of [[0, 0, 0], [1, 2, 5], [1, 3, 1]]) {
      expect(at(cos, f, y, x, 0)).toBeCloseTo(Math.cos(f), 6);
      expect(at(cos, f, y, x, 1)).toBe(at(cos, f, y, x, 0));
      expect(at(sin, f, y, x, 2)).toBeCloseTo(Math.sin(f / 100), 6);
      expect(at(cos, f, y, x, 4)).toBeCloseTo(Math.cos(y), 6);
      expect(at(sin, f, y, x, 7)).toBeCloseTo(Math.sin(y * 10000 ** (-2 / 6)), 6);
      expect(at(cos, f, y, x, 10)).toBeCloseTo(Math.cos(x), 6);
      expect(at(sin, f, y, x, 15)).toBeCloseTo(Math.sin(x * 10000 ** (-4 / 6)), 6);
    }
    for (let i = 0; i < cos.length; i++) expect(cos[i] ** 2 + sin[i] ** 2).toBeCloseTo(1, 6);
  });

  it('gives the first frames the same rows whatever the frame count', () => {
    const one = rotaryTables(tiny, 4, 6, 1);
    const three = rotaryTables(tiny, 4, 6, 3);
    expect(three.cos.subarray(0, one.cos.length)).toEqual(one.cos);
    expect(three.sin.subarray(0, one.sin.length)).toEqual(one.sin);
  });

  it('refuses a head size that does not split into time, rows and columns', () => {
    expect(() => rotaryTables({ ...tiny, head_dim: 12 }, 4, 6, 1)).toThrow(/head_dim 12 must be a multiple of 8/);
    expect(() => new RotaryCache({ ...tiny, head_dim: 20 }, 4, 6)).toThrow(/head_dim 20 must be a multiple of 8/);
  });
});

describe('RotaryCache', () => {
  it('computes the tables once per frame count and keeps the most recently used', () => {
    const cache = new RotaryCache(tiny, 4, 6, 2);
    const a = cache.tensors(1);
    expect(a.rotary_cos.shape).toEqual([24, 16]);
    expect(cache.tensors(2).rotary_sin.shape).toEqual([48, 16]);
    expect(cache.tensors(1)).toBe(a); // a hit, and now the most recent
    cache.tensors(3); // evicts F = 2, the least recently used
    expect(cache.tensors(1)).toBe(a);
    const again = cache.tensors(2);
    expect(again.rotary_cos.data).toEqual(rotaryTables(tiny, 4, 6, 2).cos);
  });
});
