/**
 * The wire frame: one contiguous buffer holding a msgpack envelope and the raw
 * bytes of every tensor, each tensor starting on an 8-byte boundary so the
 * receiver can view it in place.
 *
 *   [ "SPL1" | u32 envelope length | envelope (msgpack) | pad | tensor 0 | pad | tensor 1 … ]
 *
 * Pure functions over bytes: no NATS here.
 */
import { decode as unpack, encode as pack } from '@msgpack/msgpack';
import { DTYPE_BYTES, bytesOf, isDType, numel, tensor, viewAs, type DType, type Tensor } from './tensor.ts';

export type Meta = Record<string, unknown>;

export interface WireMessage {
  readonly meta: Meta;
  readonly tensors: Readonly<Record<string, Tensor>>;
}

interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  length: number;
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

export class FrameError extends Error {
  override readonly name = 'FrameError';
}

export function encodeFrame(message: WireMessage): Uint8Array {
  const names = Object.keys(message.tensors);
  const entries: TensorEntry[] = [];
  // Offsets are relative to the start of the tensor area so that the envelope
  // can be encoded once.
  let cursor = 0;
  for (const name of names) {
    const t = message.tensors[name];
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
  if (bytes.byteLength < PREFIX || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FrameError('not a spool frame (bad magic)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const envLength = view.getUint32(4, true);
  if (PREFIX + envLength > bytes.byteLength) throw new FrameError('truncated frame envelope');
  const envelope = unpack(bytes.subarray(PREFIX, PREFIX + envLength)) as Envelope;
  if (envelope?.v !== 1 || !Array.isArray(envelope.tensors)) throw new FrameError('unsupported frame envelope');
  const base = align(PREFIX + envLength);
  // Views need the tensor area aligned in memory; copy once when it is not.
  const aligned = (bytes.byteOffset + base) % ALIGN === 0 ? bytes : copyAligned(bytes);
  const tensors: Record<string, Tensor> = {};
  for (const e of envelope.tensors) {
    if (!isDType(e.dtype)) throw new FrameError(`tensor ${e.name}: unknown dtype ${String(e.dtype)}`);
    const expected = numel(e.shape) * DTYPE_BYTES[e.dtype];
    if (expected !== e.length) throw new FrameError(`tensor ${e.name}: shape needs ${expected} bytes, frame has ${e.length}`);
    const start = base + e.offset;
    if (start + e.length > aligned.byteLength) throw new FrameError(`tensor ${e.name}: truncated`);
    tensors[e.name] = tensor(e.dtype, e.shape, viewAs(e.dtype, aligned.subarray(start, start + e.length)));
  }
  return { meta: envelope.meta ?? {}, tensors };
}

function copyAligned(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}
