/**
 * Every ONNX file of every model package through the onnxruntime wrapper, against
 * the PyTorch outputs in parity.json (max abs diff ≤ 1e-4; summarised outputs
 * compare their first values, sum and abs_sum).
 */
import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { loadModelPackage, tensor, type Tensor } from '@spool/shared';
import { OnnxModel } from '../src/index.ts';
import { packagesWithParity, readParity, toTensor, type ParityEntry } from './helpers/model.ts';

const TOL = 1e-4;
const report: string[] = [];

afterAll(() => console.log(`parity (max |onnxruntime - pytorch|):\n${report.join('\n')}`));

/** The same tensor placed at a non-zero offset of a larger buffer: conversion must respect byteOffset. */
function offsetView(t: Tensor): Tensor {
  const bytes = t.data.byteLength;
  const backing = new ArrayBuffer(bytes + 16);
  new Uint8Array(backing, 8, bytes).set(new Uint8Array(t.data.buffer, t.data.byteOffset, bytes));
  const data = t.dtype === 'int64' ? new BigInt64Array(backing, 8, t.data.length) : new Float32Array(backing, 8, t.data.length);
  return tensor(t.dtype, t.shape, data as Tensor['data']);
}

function compare(got: Tensor, exp: ParityEntry): { maxDiff: number; sumDiff?: number; absSumRel?: number } {
  expect(got.shape).toEqual(exp.shape);
  const values = got.data as Float32Array;
  const ref = exp.data ?? exp.data_prefix!;
  if (exp.data) expect(values.length).toBe(exp.data.length);
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(values[i] - ref[i]));
  if (exp.sum === undefined) return { maxDiff };
  expect(values.length).toBe(exp.size);
  let sum = 0;
  let absSum = 0;
  for (const v of values) {
    sum += v;
    absSum += Math.abs(v);
  }
  return { maxDiff, sumDiff: Math.abs(sum - exp.sum), absSumRel: Math.abs(absSum - exp.abs_sum!) / exp.abs_sum! };
}

for (const dir of packagesWithParity()) {
  const pkg = loadModelPackage(dir);
  const parity = readParity(dir);
  describe(`ONNX parity with PyTorch (${path.basename(dir)})`, () => {
    for (const [file, fixture] of Object.entries(parity.files)) {
      it(file, async () => {
        const model = await OnnxModel.load(pkg.resolve(file), { device: { kind: 'cpu' }, threads: 1 }, file);
        try {
          const feeds = Object.fromEntries(Object.entries(fixture.inputs).map(([name, e]) => [name, offsetView(toTensor(e))]));
          const out = await model.run(feeds);
          for (const [name, exp] of Object.entries(fixture.outputs)) {
            expect(out[name], `${file} output ${name}`).toBeDefined();
            const { maxDiff, sumDiff, absSumRel } = compare(out[name], exp);
            report.push(
              `  ${pkg.manifest.name}/${file}:${name} max|d|=${maxDiff.toExponential(2)}` +
                (sumDiff === undefined ? '' : ` (first ${exp.data_prefix!.length}) |Δsum|=${sumDiff.toExponential(2)} abs_sum rel=${absSumRel!.toExponential(2)}`),
            );
            expect(maxDiff).toBeLessThanOrEqual(TOL);
            if (sumDiff !== undefined) {
              expect(sumDiff).toBeLessThanOrEqual(parity.tolerance.sum_rel * exp.abs_sum!);
              expect(absSumRel!).toBeLessThanOrEqual(parity.tolerance.sum_rel);
            }
          }
        } finally {
          await model.close();
        }
      });
    }
  });
}
