/**
 * checkTensors over hostile input: whatever the tensors record holds, the
 * answer is the checked tensors or SPOOL_ERR_BAD_MESSAGE, never a TypeError.
 * Focused cases first, then a property-based run with fast-check.
 */
import { SpoolError, tensor, type Tensor } from '@spool/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTensors, type TensorSpec } from '../src/index.ts';

const specs = {
  sample: { dtype: 'float32', shape: ['B', 'F', 4] },
  timestep: { dtype: 'float32', shape: ['B'] },
} as const satisfies Record<string, TensorSpec>;

const sample = tensor('float32', [2, 3, 4], new Float32Array(24));
const timestep = tensor('float32', [2], new Float32Array(2));

function badMessage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(SpoolError);
    expect((err as SpoolError).code).toBe('SPOOL_ERR_BAD_MESSAGE');
    return (err as SpoolError).message;
  }
  throw new Error('expected SPOOL_ERR_BAD_MESSAGE, nothing was thrown');
}

const check = (tensors: unknown) => () => checkTensors(tensors as Record<string, Tensor>, specs, 'denoise.0');

describe('checkTensors under hostile input', () => {
  it('finds only own tensors, not ones on the prototype', () => {
    const inherited = Object.create({ sample, timestep }) as Record<string, Tensor>;
    expect(badMessage(check(inherited))).toMatch(/missing tensor sample/);
  });

  it.each([
    ['null', null, /tensor sample is malformed: it is null, not a tensor/],
    ['a number', 5, /it is number, not a tensor/],
    ['an unknown dtype', { dtype: 'float16', shape: [2, 3, 4], data: new Float32Array(24) }, /its dtype is not one of/],
    ['a shape that is not an array', { dtype: 'float32', shape: '2,3,4', data: new Float32Array(24) }, /its shape is not an array/],
    ['a negative size', { dtype: 'float32', shape: [-2, -3, 4], data: new Float32Array(24) }, /a size that is not a non-negative integer/],
    ['a fractional size', { dtype: 'float32', shape: [0.5, 12, 4], data: new Float32Array(24) }, /a size that is not a non-negative integer/],
    ['data of another type', { dtype: 'float32', shape: [2, 3, 4], data: new Int32Array(24) }, /its data is not a Float32Array/],
    ['data of another length', { dtype: 'float32', shape: [2, 3, 4], data: new Float32Array(23) }, /its data has 23 elements, its shape needs 24/],
    ['no data', { dtype: 'float32', shape: [2, 3, 4] }, /its data is not a Float32Array/],
  ])('a "tensor" that is %s: SPOOL_ERR_BAD_MESSAGE', (_name, value, message) => {
    expect(badMessage(check({ sample: value, timestep }))).toMatch(message);
  });

  it('a tensors record that is not an object: SPOOL_ERR_BAD_MESSAGE', () => {
    expect(badMessage(check(null))).toBe('denoise.0: the message has no tensors record (got null)');
    expect(badMessage(check(undefined))).toBe('denoise.0: the message has no tensors record (got undefined)');
  });

  it('lists at most 8 of the tensors a message has when one is missing', () => {
    const many = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`t${i}`, timestep]));
    expect(badMessage(check(many))).toMatch(/the message has t0, t1, t2, t3, t4, t5, t6, t7 and 12 more\)$/);
  });
});

/** Values that claim, more or less convincingly, to be tensors. */
const hostileTensor: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(4, 5)).map(([b, f, c]) => tensor('float32', [b, f, c], new Float32Array(b * f * c))),
  fc.integer({ min: 0, max: 3 }).map((b) => tensor('float32', [b], new Float32Array(b))),
  fc.constantFrom(sample, timestep, tensor('int32', [2], new Int32Array(2)), tensor('float32', [2, 3, 4, 1], new Float32Array(24))),
  fc.record({
    dtype: fc.oneof(fc.constantFrom('float32', 'int64', 'int32', 'uint8', 'float16', 'toString'), fc.anything({ maxDepth: 0 })),
    shape: fc.oneof(fc.array(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double(), fc.constantFrom(2 ** 53, Number.NaN)), { maxLength: 10 }), fc.anything({ maxDepth: 1 })),
    data: fc.oneof(fc.constant(new Float32Array(24)), fc.constant(new Int32Array(2)), fc.constant(new BigInt64Array(1)), fc.anything({ maxDepth: 0 })),
  }),
  fc.anything({ maxDepth: 2 }),
);

const record: fc.Arbitrary<unknown> = fc.oneof(
  fc.dictionary(fc.oneof(fc.constantFrom('sample', 'timestep', '__proto__', 'constructor'), fc.string({ maxLength: 6 })), hostileTensor, { maxKeys: 4 }),
  fc.record({ sample: hostileTensor, timestep: hostileTensor }),
  fc.anything({ maxDepth: 1 }),
);

describe('checkTensors (property-based)', () => {
  it('returns tensors that match the specs, or throws SPOOL_ERR_BAD_MESSAGE', () => {
    let passed = 0;
    fc.assert(
      fc.property(record, (tensors) => {
        let result: ReturnType<typeof checkTensors<keyof typeof specs>>;
        try {
          result = checkTensors(tensors as Record<string, Tensor>, specs, 'denoise.0');
        } catch (err) {
          if (!(err instanceof SpoolError)) throw err;
          expect(err.code).toBe('SPOOL_ERR_BAD_MESSAGE');
          return;
        }
        passed++;
        const { sample: s, timestep: t } = result.tensors;
        expect(Object.hasOwn(tensors as object, 'sample') && Object.hasOwn(tensors as object, 'timestep')).toBe(true);
        expect([s.dtype, t.dtype]).toEqual(['float32', 'float32']);
        expect(s.shape[2]).toBe(4);
        expect(s.shape[0]).toBe(t.shape[0]);
        expect(result.dims.B).toBeGreaterThanOrEqual(1);
        expect(s.data.length).toBe(s.shape.reduce((a, b) => a * b, 1));
      }),
      { numRuns: 3_000 },
    );
    expect(passed).toBeGreaterThan(0);
  });
});
