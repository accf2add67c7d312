/**
 * The wire frame: one contiguous buffer holding a msgpack envelope and the raw
 * bytes of every tensor, each tensor starting on an 8-byte boundary so the
 * receiver can view it in place.
 *
 *   [ "SPL1" | u32 envelope length | envelope (msgpack) | pad | tensor 0 | pad | tensor 1 … ]
 *
 * Pure functions over bytes: no NATS here. Decoding is total: bytes that are
 * not a well-formed frame throw a FrameError saying what is wrong, and no
 * size a frame declares is allocated before it is checked against the bytes
 * that are really there (see frame-layout.ts).
 */
import { decode as unpack, encode as pack } from '@msgpack/msgpack';
import { checkTensorName, FrameError, isPlainObject, kindOf, MAX_FRAME_TENSORS, MAX_TENSOR_DIMS, readLayout, type TensorEntry } from './frame-layout.ts';
import { bytesOf, tensor, viewAs, type Tensor } from './tensor.ts';

export { FrameError, MAX_FRAME_TENSORS, MAX_TENSOR_DIMS } from './frame-layout.ts';

export type Meta = Record<string, unknown>;

export interface WireMessage {
  readonly meta: Meta;
  readonly tensors: Readonly<Record<string, Tensor>>;
}

interface Envelope {
  v: 1;
  meta: Meta;
  tensors: TensorEntry[];
}

const MAGIC = [0x53, 0x50, 0x4c, 0x31]; // "SPL1"
const PREFIX = 8;
const ALIGN = 8;

const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Throws a FrameError for a message no receiver would accept (names, tensor count, dimensions), so it fails at the sender. */
export function encodeFrame(message: WireMessage): Uint8Array {
  const names = Object.keys(message.tensors);
  if (names.length > MAX_FRAME_TENSORS) throw new FrameError(`a frame carries at most ${MAX_FRAME_TENSORS} tensors, this message has ${names.length}`);
  const entries: TensorEntry[] = [];
  // Offsets are relative to the start of the tensor area so that the envelope
  // can be encoded once.
  let cursor = 0;
  for (const name of names) {
    checkTensorName(name, entries.length);
    const t = message.tensors[name];
    if (t.shape.length > MAX_TENSOR_DIMS) throw new FrameError(`tensor "${name}" has ${t.shape.length} dimensions, at most ${MAX_TENSOR_DIMS} travel`);
    const length = t.data.byteLength;
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], offset: cursor, length });
    cursor = align(cursor + length);
  }
  const envelope = pack({ v: 1, meta: message.meta, tensors: entries } satisfies Envelope);
  const base = align(PREFIX + envelope.byteLength);
  const out = new Uint8Array(base + cursor);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, envelope.byteLength, true);
  out.set(envelope, PREFIX);
  names.forEach((name, i) => out.set(bytesOf(message.tensors[name]), base + entries[i].offset));
  return out;
}

export function decodeFrame(bytes: Uint8Array): WireMessage {
  if (!(bytes instanceof Uint8Array)) throw new FrameError(`a frame is a Uint8Array, got ${typeof bytes}`);
  if (bytes.byteLength < PREFIX || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FrameError('not a spool frame (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const envLength = view.getUint32(4, true);
  if (envLength > bytes.byteLength - PREFIX) {
    throw new FrameError(`truncated frame envelope: it declares ${envLength} bytes, the frame has ${bytes.byteLength - PREFIX} after its prefix`);
  }
  const envelope = readEnvelope(bytes.subarray(PREFIX, PREFIX + envLength));
  const base = align(PREFIX + envLength);
  const entries = readLayout(envelope.tensors, bytes.byteLength - base);
  // Views need the tensor area aligned in memory; copy once when it is not.
  const aligned = (bytes.byteOffset + base) % ALIGN === 0 ? bytes : copyAligned(bytes);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const start = base + e.offset;
    tensors[e.name] = tensor(e.dtype, e.shape, viewAs(e.dtype, aligned.subarray(start, start + e.length)));
  }
  return { meta: envelope.meta, tensors };
}

/** The envelope as msgpack allows it to be anything: checked down to the fields the layout reads. */
function readEnvelope(raw: Uint8Array): { meta: Meta; tensors: unknown[] } {
  let value: unknown;
  try {
    // Every element takes at least one byte, so nothing longer than the
    // envelope itself can be real; msgpack would otherwise size arrays by
    // the declared count.
    const n = raw.byteLength;
    value = unpack(raw, { maxStrLength: n, maxBinLength: n, maxArrayLength: n, maxMapLength: n, maxExtLength: n });
  } catch (err) {
    throw new FrameError(`frame envelope is not valid msgpack: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isPlainObject(value)) throw new FrameError(`frame envelope must be a map, got ${kindOf(value)}`);
  if (value.v !== 1) throw new FrameError(`unsupported frame envelope version ${kindOf(value.v)} (this build reads version 1)`);
  if (!isPlainObject(value.meta)) throw new FrameError(`frame meta must be a map, got ${kindOf(value.meta)}`);
  if (!Array.isArray(value.tensors)) throw new FrameError(`frame tensors must be an array of entries, got ${kindOf(value.tensors)}`);
  return { meta: value.meta, tensors: value.tensors };
}

function copyAligned(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}
