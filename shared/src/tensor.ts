/** Dense tensors as they travel between stages: a dtype, a shape and a typed view over raw bytes. */

export type DType = 'float32' | 'int64' | 'int32' | 'uint8';

export type TensorData<D extends DType = DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int64'
    ? BigInt64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TensorData<D>;
}

export const DTYPE_BYTES: Readonly<Record<DType, number>> = Object.freeze({
  float32: 4,
  int64: 8,
  int32: 4,
  uint8: 1,
});

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(DTYPE_BYTES, value);
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor<D extends DType>(dtype: D, shape: readonly number[], data: TensorData<D>): Tensor<D> {
  const expected = numel(shape);
  if (data.length !== expected) {
    throw new RangeError(`tensor of shape [${shape.join(', ')}] needs ${expected} elements, got ${data.length}`);
  }
  return Object.freeze({ dtype, shape: Object.freeze([...shape]), data });
}

/** Builds a typed view over `bytes` without copying; the caller guarantees alignment. */
export function viewAs<D extends DType>(dtype: D, bytes: Uint8Array): TensorData<D> {
  const { buffer, byteOffset, byteLength } = bytes;
  const n = byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, n) as TensorData<D>;
    case 'int64':
      return new BigInt64Array(buffer, byteOffset, n) as TensorData<D>;
    case 'int32':
      return new Int32Array(buffer, byteOffset, n) as TensorData<D>;
    default:
      return new Uint8Array(buffer, byteOffset, n) as TensorData<D>;
  }
}

export function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}
