/**
 * Property-based: decodeFrame is total. Valid messages round-trip without a
 * copy; random bytes, byte-level mutations of valid frames and hostile
 * envelopes either decode to a well-formed message or throw a FrameError,
 * never another error. fast-check prints the seed of a failing run.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, FrameError, MAX_FRAME_TENSORS, MAX_TENSOR_DIMS, numel, type WireMessage } from '../src/index.ts';
import { anyEnvelope, byteMutant, envelopeMutant, randomFrameBytes, validMessage } from './frame-arbitraries.ts';

/** What every decoded message keeps: own, sane names; integer shapes that match the data; data inside the frame. */
function expectWellFormed(m: WireMessage, frame: Uint8Array): void {
  expect(Object.getPrototypeOf(m.meta)).toBe(Object.prototype);
  const names = Object.keys(m.tensors);
  expect(names.length).toBeLessThanOrEqual(MAX_FRAME_TENSORS);
  for (const name of names) {
    const t = m.tensors[name];
    expect(Object.hasOwn(Object.prototype, name)).toBe(false);
    expect(t.shape.length).toBeLessThanOrEqual(MAX_TENSOR_DIMS);
    for (const d of t.shape) expect(Number.isSafeInteger(d) && d >= 0).toBe(true);
    expect(t.data.length).toBe(numel(t.shape));
    if (t.data.buffer === frame.buffer) {
      expect(t.data.byteOffset).toBeGreaterThanOrEqual(frame.byteOffset);
      expect(t.data.byteOffset + t.data.byteLength).toBeLessThanOrEqual(frame.byteOffset + frame.byteLength);
    }
  }
  // What decodes re-encodes to a frame that decodes the same.
  const again = decodeFrame(encodeFrame(m));
  expect(Object.keys(again.tensors)).toEqual(names);
  for (const name of names) expect(again.tensors[name].shape).toEqual(m.tensors[name].shape);
}

/** Decodes `frame`: a well-formed message or a FrameError with a message, nothing else. */
function decodeOrRefuse(frame: Uint8Array): 'decoded' | 'refused' {
  let m: WireMessage;
  try {
    m = decodeFrame(frame);
  } catch (err) {
    if (!(err instanceof FrameError)) throw err;
    expect(err.message.length).toBeGreaterThan(0);
    return 'refused';
  }
  expectWellFormed(m, frame);
  return 'decoded';
}

describe('decodeFrame (property-based)', () => {
  it('round-trips valid messages, viewing tensors in the frame without a copy', () => {
    fc.assert(
      fc.property(validMessage, (message) => {
        const frame = encodeFrame(message);
        const out = decodeFrame(frame);
        expect(JSON.stringify(out.meta)).toBe(JSON.stringify(message.meta));
        expect(Object.keys(out.tensors)).toEqual(Object.keys(message.tensors));
        for (const [name, t] of Object.entries(message.tensors)) {
          const got = out.tensors[name];
          expect(got.dtype).toBe(t.dtype);
          expect(got.shape).toEqual(t.shape);
          expect(got.data).toEqual(t.data);
          expect(got.data.buffer).toBe(frame.buffer);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('random bytes: a message or a FrameError', () => {
    fc.assert(fc.property(randomFrameBytes, (bytes) => void decodeOrRefuse(bytes)), { numRuns: 2_000 });
  });

  it('any msgpack value as the envelope: a message or a FrameError', () => {
    fc.assert(fc.property(anyEnvelope, (bytes) => void decodeOrRefuse(bytes)), { numRuns: 2_000 });
  });

  it('valid frames with bytes changed, cut, added or removed: a message or a FrameError', () => {
    fc.assert(fc.property(byteMutant, (bytes) => void decodeOrRefuse(bytes)), { numRuns: 3_000 });
  });

  it('valid frames with envelope fields set to hostile values: a message or a FrameError', () => {
    let refused = 0;
    fc.assert(
      fc.property(envelopeMutant, (bytes) => {
        if (decodeOrRefuse(bytes) === 'refused') refused++;
      }),
      { numRuns: 3_000 },
    );
    // The mutations reach the checks: most of them are refused.
    expect(refused).toBeGreaterThan(1_000);
  });
});
