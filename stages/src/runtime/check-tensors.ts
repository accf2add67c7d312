/**
 * Validation of incoming tensors against a shape pattern. Numbers are fixed
 * sizes; letters are sizes that must agree across every tensor of one
 * message (e.g. the batch `B`). Failures are SPOOL_ERR_BAD_MESSAGE naming the
 * tensor and the expected shape.
 */
import { wireError, type DType, type Tensor } from '@spool/shared';

export type Dim = number | string;

export interface TensorSpec {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export type Bindings = Record<string, number>;

export function describeSpec(spec: TensorSpec): string {
  return `${spec.dtype} [${spec.shape.join(', ')}]`;
}

/** Checks `tensors` against `specs` (in order) and returns the sizes the letters took. */
export function checkTensors<K extends string>(
  tensors: Readonly<Record<string, Tensor>>,
  specs: Readonly<Record<K, TensorSpec>>,
  stage: string,
  bindings: Bindings = {},
): { tensors: Record<K, Tensor>; dims: Bindings } {
  const out = {} as Record<K, Tensor>;
  for (const name of Object.keys(specs) as K[]) {
    const spec = specs[name];
    const t = tensors[name];
    const expected = `expected ${describeSpec(spec)}`;
    if (!t) {
      const got = Object.keys(tensors);
      throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: missing tensor ${name} (${expected}; the message has ${got.length ? got.join(', ') : 'no tensors'})`);
    }
    const fail = (why: string): never => {
      throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: tensor ${name} is ${t.dtype} [${t.shape.join(', ')}], ${expected}${why ? ` (${why})` : ''}`);
    };
    if (t.dtype !== spec.dtype || t.shape.length !== spec.shape.length) fail('');
    spec.shape.forEach((dim, i) => {
      const size = t.shape[i];
      if (typeof dim === 'number') {
        if (size !== dim) fail('');
      } else if (bindings[dim] === undefined) {
        if (!(size >= 1)) fail(`${dim} must be at least 1`);
        bindings[dim] = size;
      } else if (bindings[dim] !== size) {
        fail(`${dim} is ${bindings[dim]} elsewhere in the message`);
      }
    });
    out[name] = t;
  }
  return { tensors: out, dims: bindings };
}
