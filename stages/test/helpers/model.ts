/** The tiny model package the tests run against, and fixtures from its parity.json. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadModelPackage, MODELS_DIR, tensor, type ModelManifest, type ModelPackage, type Tensor } from '@spool/shared';

/** The smallest package: what the unit tests run on, whatever the default model is. */
export const TINY_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');

/** Every model package in the repository that ships a parity fixture. */
export function packagesWithParity(): string[] {
  return readdirSync(MODELS_DIR)
    .map((name) => path.join(MODELS_DIR, name))
    .filter((dir) => existsSync(path.join(dir, 'manifest.json')) && existsSync(path.join(dir, 'parity.json')))
    .sort();
}

export function tinyPackage(): ModelPackage {
  return loadModelPackage(TINY_DIR);
}

/** A manifest with `blocks` transformer blocks, for layout tests that need no files. */
export function fakeManifest(blocks: number, name = 'fake-model'): ModelManifest {
  const m = tinyPackage().manifest;
  return { ...m, name, transformer: { ...m.transformer, blocks: Array.from({ length: blocks }, (_, i) => `b${i}.onnx`) } };
}

export interface ParityEntry {
  dtype: 'float32' | 'int64';
  shape: number[];
  data?: number[];
  data_prefix?: number[];
  sum?: number;
  abs_sum?: number;
  size?: number;
}

export interface ParityFile {
  tolerance: { max_abs_diff: number; sum_rel: number };
  prompts: string[];
  files: Record<string, { inputs: Record<string, ParityEntry>; outputs: Record<string, ParityEntry> }>;
}

export function readParity(dir = TINY_DIR): ParityFile {
  return JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as ParityFile;
}

export function toTensor(e: ParityEntry): Tensor {
  if (e.dtype === 'int64') return tensor('int64', e.shape, BigInt64Array.from(e.data ?? [], (v) => BigInt(v)));
  return tensor('float32', e.shape, Float32Array.from(e.data ?? []));
}

/** Deterministic pseudo-random floats in about [-1.3, 1.3]. */
export function noise(shape: number[], seed = 1): Tensor<'float32'> {
  const n = shape.reduce((a, b) => a * b, 1);
  return tensor('float32', shape, Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * 12.9898 * seed) * 1.3));
}
