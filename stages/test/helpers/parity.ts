/**
 * A package's ONNX files against the PyTorch outputs in its parity.json, run
 * through the worker's onnxruntime wrapper: max |Δ| within the fixture's
 * tolerance (1e-4); summarised outputs compare their first values, sum and abs_sum.
 */
import { loadModelPackage, tensor, type Tensor } from '@spool/shared';
import { OnnxModel } from '../../src/index.ts';
import { readParity, toTensor, type ParityEntry } from './model.ts';

export interface ParityResult {
  readonly file: string;
  readonly output: string;
  readonly maxDiff: number;
  /** Where the output was summarised: |Δ sum| and the relative |Δ abs_sum|. */
  readonly sumDiff?: number;
  readonly absSumRel?: number;
  /** Whether every bound of the fixture holds. */
  readonly ok: boolean;
  readonly problem?: string;
}

/** The same tensor placed at a non-zero offset of a larger buffer: conversion must respect byteOffset. */
function offsetView(t: Tensor): Tensor {
  const bytes = t.data.byteLength;
  const backing = new ArrayBuffer(bytes + 16);
  new Uint8Array(backing, 8, bytes).set(new Uint8Array(t.data.buffer, t.data.byteOffset, bytes));
  const data = t.dtype === 'int64' ? new BigInt64Array(backing, 8, t.data.length) : new Float32Array(backing, 8, t.data.length);
  return tensor(t.dtype, t.shape, data as Tensor['data']);
}

function compare(got: Tensor, exp: ParityEntry): { maxDiff: number; sumDiff?: number; absSumRel?: number; problem?: string } {
  if (got.shape.join() !== exp.shape.join()) return { maxDiff: Infinity, problem: `shape [${got.shape.join(', ')}], expected [${exp.shape.join(', ')}]` };
  const values = got.data as Float32Array;
  const ref = exp.data ?? exp.data_prefix!;
  if (exp.data && values.length !== exp.data.length) return { maxDiff: Infinity, problem: `${values.length} values, expected ${exp.data.length}` };
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i] - ref[i]));
  if (exp.sum === undefined) return { maxDiff };
  let sum = 0;
  let absSum = 0;
  for (const v of values) {
    sum += v;
    absSum += Math.abs(v);
  }
  return { maxDiff, sumDiff: Math.abs(sum - exp.sum), absSumRel: Math.abs(absSum - exp.abs_sum!) / exp.abs_sum! };
}

/** Runs every file of the package's parity.json once; one result per output. */
export async function checkParity(dir: string, only?: (file: string) => boolean): Promise<ParityResult[]> {
  const pkg = loadModelPackage(dir);
  const parity = readParity(dir);
  const results: ParityResult[] = [];
  for (const [file, fixture] of Object.entries(parity.files)) {
    if (only && !only(file)) continue;
    const model = await OnnxModel.load(pkg.resolve(file), { device: { kind: 'cpu' }, threads: 1 }, file);
    try {
      const feeds = Object.fromEntries(Object.entries(fixture.inputs).map(([name, e]) => [name, offsetView(toTensor(e))]));
      const out = await model.run(feeds);
      for (const [name, exp] of Object.entries(fixture.outputs)) {
        if (!out[name]) {
          results.push({ file, output: name, maxDiff: Infinity, ok: false, problem: 'no such output' });
          continue;
        }
        const c = compare(out[name], exp);
        const ok =
          c.problem === undefined &&
          c.maxDiff <= parity.tolerance.max_abs_diff &&
          (c.sumDiff === undefined || (c.sumDiff <= parity.tolerance.sum_rel * exp.abs_sum! && c.absSumRel! <= parity.tolerance.sum_rel));
        results.push({ file, output: name, ...c, ok });
      }
    } finally {
      await model.close();
    }
  }
  return results;
}

export function formatParity(name: string, r: ParityResult): string {
  const sums = r.sumDiff === undefined ? '' : ` |Δsum|=${r.sumDiff.toExponential(2)} abs_sum rel=${r.absSumRel!.toExponential(2)}`;
  return `  ${name}/${r.file}:${r.output} max|d|=${r.maxDiff.toExponential(2)}${sums}${r.problem ? ` (${r.problem})` : ''}`;
}
