/**
 * fast-check arbitraries for the wire contract: valid messages, hostile
 * values for envelope fields, and mutations of valid frames at the byte and
 * at the envelope level.
 */
import { decode as unpack, encode as pack } from '@msgpack/msgpack';
import fc from 'fast-check';
import { DTYPE_BYTES, encodeFrame, tensor, viewAs, type DType, type Tensor, type WireMessage } from '../src/index.ts';
import { frameAround } from './frame-builder.ts';

const DTYPES = Object.keys(DTYPE_BYTES) as DType[];

export const tensorName = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,15}$/).filter((n) => !Object.hasOwn(Object.prototype, n));

export const anyTensor: fc.Arbitrary<Tensor> = fc
  .tuple(fc.constantFrom(...DTYPES), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }))
  .chain(([dtype, shape]) => {
    const n = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    return fc.uint8Array({ minLength: n, maxLength: n }).map((b) => {
      // A fresh buffer, so the view is aligned.
      const bytes = new Uint8Array(new ArrayBuffer(n));
      bytes.set(b);
      return tensor(dtype, shape, viewAs(dtype, bytes));
    });
  });

/** JSON-like values without `__proto__` keys (msgpack refuses those on decode). */
const metaValue = fc.jsonValue().filter((v) => !JSON.stringify(v ?? null).includes('"__proto__"'));

export const validMessage: fc.Arbitrary<WireMessage> = fc.record({
  meta: fc.dictionary(fc.string().filter((k) => k !== '__proto__'), metaValue, { maxKeys: 4 }),
  tensors: fc.dictionary(tensorName, anyTensor, { maxKeys: 5 }),
});

/** Values a hostile sender might put in any envelope field. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(-1, -8, 0, 0.5, 1.5, 7, 9, Number.NaN, Number.POSITIVE_INFINITY, -0, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e300, null, true, '', 'float16', '__proto__', 'constructor'),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.oneof(fc.integer({ min: -2, max: 2 ** 20 }), fc.double(), fc.constantFrom(2 ** 53, 2 ** 40, -1)), { maxLength: 12 }),
  fc.integer({ min: 9, max: 2_000 }).map((n) => new Array<number>(n).fill(1)),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  fc.uint8Array({ maxLength: 8 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export type Envelope = { v: unknown; meta: unknown; tensors: unknown };

/** A valid frame split into its envelope (unpacked) and its tensor area. */
export function splitFrame(frame: Uint8Array): { envelope: Envelope; area: Uint8Array } {
  const envLength = new DataView(frame.buffer, frame.byteOffset).getUint32(4, true);
  const base = Math.ceil((8 + envLength) / 8) * 8;
  return { envelope: unpack(frame.subarray(8, 8 + envLength)) as Envelope, area: frame.subarray(base) };
}

type EnvelopeEdit = (e: Envelope) => void;

/** The entry at `i` (modulo the count) when the envelope still has entries that are maps. */
function entryAt(e: Envelope, i: number): Record<string, unknown> | undefined {
  if (!Array.isArray(e.tensors) || e.tensors.length === 0) return undefined;
  const entry: unknown = e.tensors[i % e.tensors.length];
  return typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>) : undefined;
}

const entryField = fc.oneof(fc.constantFrom('name', 'dtype', 'shape', 'offset', 'length'), fc.string({ maxLength: 6 }));

/** One change to an unpacked envelope: a field of an entry, a top-level field, a duplicated, dropped or reordered entry. */
const envelopeEdit: fc.Arbitrary<EnvelopeEdit> = fc.oneof(
  fc.tuple(fc.nat(), entryField, hostileValue).map(([i, field, value]): EnvelopeEdit => (e) => {
    const entry = entryAt(e, i);
    if (entry) entry[field] = value;
  }),
  fc.tuple(fc.constantFrom('v', 'meta', 'tensors'), hostileValue).map(([field, value]): EnvelopeEdit => (e) => {
    e[field] = value;
  }),
  fc.nat().map((i): EnvelopeEdit => (e) => {
    if (Array.isArray(e.tensors) && e.tensors.length > 0) e.tensors.push({ ...(e.tensors[i % e.tensors.length] as object) });
  }),
  fc.nat().map((i): EnvelopeEdit => (e) => {
    if (Array.isArray(e.tensors) && e.tensors.length > 0) e.tensors.splice(i % e.tensors.length, 1);
  }),
  fc.constant<EnvelopeEdit>((e) => {
    if (Array.isArray(e.tensors)) e.tensors.reverse();
  }),
  fc.tuple(fc.nat(), fc.integer({ min: -16, max: 64 })).map(([i, delta]): EnvelopeEdit => (e) => {
    const entry = entryAt(e, i);
    if (entry && typeof entry.offset === 'number') entry.offset += delta;
  }),
);

/** A valid message's frame rebuilt after envelope edits, with its area cut or extended. */
export const envelopeMutant: fc.Arbitrary<Uint8Array> = fc
  .tuple(validMessage, fc.array(envelopeEdit, { minLength: 1, maxLength: 3 }), fc.integer({ min: -16, max: 16 }))
  .map(([message, edits, areaDelta]) => {
    const { envelope, area } = splitFrame(encodeFrame(message));
    for (const edit of edits) edit(envelope);
    const resized = new Uint8Array(Math.max(0, area.byteLength + areaDelta));
    resized.set(area.subarray(0, resized.byteLength));
    return rawFrameOf(envelope, resized);
  });

function rawFrameOf(envelope: Envelope, area: Uint8Array): Uint8Array {
  return frameAround(packLoose(envelope), area);
}

const packLoose = (v: unknown): Uint8Array => pack(v, { ignoreUndefined: false });

type ByteEdit = (b: Uint8Array) => Uint8Array;

/** One change to a frame's bytes: a byte set, a cut, bytes added or removed, the envelope length rewritten. */
const byteEdit: fc.Arbitrary<ByteEdit> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]): ByteEdit => (b) => {
    const out = b.slice();
    if (out.length > 0) out[i % out.length] = v;
    return out;
  }),
  fc.nat().map((n): ByteEdit => (b) => b.slice(0, n % (b.length + 1))),
  fc.uint8Array({ minLength: 1, maxLength: 16 }).map((extra): ByteEdit => (b) => {
    const out = new Uint8Array(b.length + extra.length);
    out.set(b);
    out.set(extra, b.length);
    return out;
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([i, n]): ByteEdit => (b) => {
    const at = i % (b.length + 1);
    return Uint8Array.from([...b.subarray(0, at), ...b.subarray(Math.min(b.length, at + n))]);
  }),
  fc.oneof(fc.nat(), fc.constantFrom(0, 1, 0xffffffff, 2 ** 31)).map((len): ByteEdit => (b) => {
    const out = b.slice();
    if (out.length >= 8) new DataView(out.buffer).setUint32(4, len >>> 0, true);
    return out;
  }),
);

export const byteMutant: fc.Arbitrary<Uint8Array> = fc
  .tuple(validMessage, fc.array(byteEdit, { minLength: 1, maxLength: 4 }))
  .map(([message, edits]) => edits.reduce((b, edit) => edit(b), encodeFrame(message)));

/** Random bytes, half of them behind the magic and a plausible envelope length. */
export const randomFrameBytes: fc.Arbitrary<Uint8Array> = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.boolean()).map(([body, framed]) => {
  if (!framed) return body;
  return frameAround(body.subarray(0, body.length >> 1), body.subarray(body.length >> 1));
});

/** Any msgpack value as the envelope. */
export const anyEnvelope: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.oneof(fc.anything({ maxDepth: 3 }), fc.record({ v: fc.constant(1), meta: hostileValue, tensors: fc.array(hostileValue, { maxLength: 4 }) })), fc.uint8Array({ maxLength: 64 }))
  .map(([envelope, area]) => {
    try {
      return frameAround(packLoose(envelope), area);
    } catch {
      // Values msgpack cannot encode become an empty envelope.
      return frameAround(new Uint8Array(0), area);
    }
  });
