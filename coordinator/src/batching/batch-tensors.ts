/** Concatenating float32 tensors along the batch axis and slicing the result back per caller. */
import { tensor, type Tensor } from '@spool/shared';

/** One tensor of the parts stacked along axis 0; every part has the same shape past axis 0. */
export function concatRows(parts: readonly Tensor<'float32'>[]): Tensor<'float32'> {
  if (parts.length === 1) return parts[0];
  const tail = parts[0].shape.slice(1);
  let rows = 0;
  let length = 0;
  for (const p of parts) {
    if (p.shape.slice(1).join() !== tail.join()) {
      throw new RangeError(`cannot batch shapes [${parts[0].shape.join(', ')}] and [${p.shape.join(', ')}]`);
    }
    rows += p.shape[0];
    length += p.data.length;
  }
  const data = new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return tensor('float32', [rows, ...tail], data);
}

/** Views (no copy) of `whole` split along axis 0 into runs of `rows[i]` rows. */
export function splitRows(whole: Tensor<'float32'>, rows: readonly number[]): Tensor<'float32'>[] {
  const total = rows.reduce((a, b) => a + b, 0);
  if (whole.shape[0] !== total) throw new RangeError(`cannot split ${whole.shape[0]} rows into ${rows.join(' + ')}`);
  const perRow = total === 0 ? 0 : whole.data.length / total;
  const out: Tensor<'float32'>[] = [];
  let row = 0;
  for (const r of rows) {
    out.push(tensor('float32', [r, ...whole.shape.slice(1)], whole.data.subarray(row * perRow, (row + r) * perRow)));
    row += r;
  }
  return out;
}
