/**
 * Every ONNX file of every model package the repository ships, through the
 * onnxruntime wrapper, against the PyTorch outputs in its parity.json.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadModelPackage } from '@spool/shared';
import { checkParity, formatParity } from './helpers/parity.ts';
import { packagesWithParity, readParity } from './helpers/model.ts';

const report: string[] = [];
afterAll(() => console.log(`parity (max |onnxruntime - pytorch|):\n${report.join('\n')}`));

for (const dir of packagesWithParity()) {
  const name = loadModelPackage(dir).manifest.name;
  describe(`ONNX parity with PyTorch (${path.basename(dir)})`, () => {
    for (const file of Object.keys(readParity(dir).files)) {
      it(file, async () => {
        const results = await checkParity(dir, (f) => f === file);
        expect(results.length).toBeGreaterThan(0);
        for (const r of results) {
          report.push(formatParity(name, r));
          expect(r.ok, formatParity(name, r)).toBe(true);
        }
      });
    }
  });
}
