/**
 * Validation of incoming tensors against a shape pattern. Numbers are fixed
 * sizes; letters are sizes that must agree across every tensor of one
 * message (e.g. the batch `B`). Failures are SPOOL_ERR_BAD_MESSAGE naming the
 * tensor and the expected shape. Total over hostile input: a record or a
 * tensor that is not what it claims to be fails the same way, never with a
 * TypeError, and only the record's own keys count (a tensor named
 * `constructor` is not found on the prototype).
 */
import { isDType, MAX_TENSOR_DIMS, wireError, type DType, type Tensor } from '@spool/shared';

export type Dim = number | string;

export interface TensorSpec {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export type Bindings = Record<string, number>;

export function describeSpec(spec: TensorSpec): string {
  return `${spec.dtype} [${spec.shape.join(', ')}]`;
}

const ARRAYS: Readonly<Record<DType, abstract new (...args: never[]) => ArrayLike<unknown>>> = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array };

/** What is wrong with a value that should be a tensor, or undefined when nothing is. */
export function tensorProblem(t: unknown): string | undefined {
  if (typeof t !== 'object' || t === null) return `it is ${t === null ? 'null' : typeof t}, not a tensor`;
  const { dtype, shape, data } = t as Partial<Tensor>;
  if (!isDType(dtype)) return 'its dtype is not one of float32, int64, int32, uint8';
  if (!Array.isArray(shape) || shape.length > MAX_TENSOR_DIMS) return `its shape is not an array of at most ${MAX_TENSOR_DIMS} sizes`;
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return 'its shape has a size that is not a non-negative integer';
  if (!(data instanceof ARRAYS[dtype])) return `its data is not a ${ARRAYS[dtype].name}`;
  let n = 1;
  for (const d of shape) n *= d;
  if (n !== (data as ArrayLike<unknown>).length) return `its data has ${(data as ArrayLike<unknown>).length} elements, its shape needs ${n}`;
  return undefined;
}

/** Checks `tensors` against `specs` (in order) and returns the sizes the letters took. */
export function checkTensors<K extends string>(
  tensors: Readonly<Record<string, Tensor>>,
  specs: Readonly<Record<K, TensorSpec>>,
  stage: string,
  bindings: Bindings = {},
): { tensors: Record<K, Tensor>; dims: Bindings } {
  if (typeof tensors !== 'object' || tensors === null) {
    throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: the message has no tensors record (got ${tensors === null ? 'null' : typeof tensors})`);
  }
  const out = {} as Record<K, Tensor>;
  for (const name of Object.keys(specs) as K[]) {
    const spec = specs[name];
    const expected = `expected ${describeSpec(spec)}`;
    if (!Object.hasOwn(tensors, name)) {
      const got = Object.keys(tensors);
      const listed = got.length > 8 ? `${got.slice(0, 8).join(', ')} and ${got.length - 8} more` : got.join(', ');
      throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: missing tensor ${name} (${expected}; the message has ${got.length ? listed : 'no tensors'})`);
    }
    const t = tensors[name];
    const problem = tensorProblem(t);
    if (problem) throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: tensor ${name} is malformed: ${problem} (${expected})`);
    const fail = (why: string): never => {
      throw wireError('SPOOL_ERR_BAD_MESSAGE', `${stage}: tensor ${name} is ${t.dtype} [${t.shape.join(', ')}], ${expected}${why ? ` (${why})` : ''}`);
    };
    if (t.dtype !== spec.dtype || t.shape.length !== spec.shape.length) fail('');
    spec.shape.forEach((dim, i) => {
      const size = t.shape[i];
      if (typeof dim === 'number') {
        if (size !== dim) fail('');
      } else if (!Object.hasOwn(bindings, dim)) {
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
