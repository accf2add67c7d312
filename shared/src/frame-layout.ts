/**
 * Checking a frame's tensor entries before anything is viewed or allocated:
 * each entry is a map with a sane name, a known dtype, a shape of at most
 * MAX_TENSOR_DIMS non-negative integers, and an 8-byte-aligned offset and a
 * length that match the shape and lie inside the tensor area without
 * overlapping another tensor. The area must end where the last tensor's
 * padding ends: no trailing bytes. Sizes are compared with the bytes that
 * are present, never multiplied out past them, so a declared size cannot
 * overflow or drive an allocation.
 */
import { DTYPE_BYTES, isDType, type DType } from './tensor.ts';

export class FrameError extends Error {
  override readonly name: string = 'FrameError';
}

/** Most tensors one frame may carry. */
export const MAX_FRAME_TENSORS = 64;
/** Most dimensions a tensor's shape may have. */
export const MAX_TENSOR_DIMS = 8;

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  offset: number;
  length: number;
}

const ALIGN = 8;
/** Identifier-like names; no spaces, no control characters, at most 128 characters. */
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;

/** Throws unless `name` can name a tensor: identifier-like, and not a property every object has (`__proto__`, `constructor`). */
export function checkTensorName(name: unknown, index: number): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new FrameError(`tensor entry ${index}: name must be 1 to 128 letters, digits or _ . : / - (got ${kindOf(name)})`);
  }
  if (Object.hasOwn(Object.prototype, name)) {
    throw new FrameError(`tensor entry ${index}: name ${JSON.stringify(name)} is reserved (every object has it)`);
  }
}

/**
 * The entries of `raw` checked against a tensor area of `area` bytes (the
 * frame after its envelope and padding; negative when even that is cut).
 */
export function readLayout(raw: readonly unknown[], area: number): TensorEntry[] {
  if (raw.length > MAX_FRAME_TENSORS) throw new FrameError(`frame has ${raw.length} tensor entries, at most ${MAX_FRAME_TENSORS} are allowed`);
  const names = new Set<string>();
  const entries = raw.map((r, i) => {
    const e = readEntry(r, i, area);
    if (names.has(e.name)) throw new FrameError(`tensor "${e.name}" appears twice in the frame`);
    names.add(e.name);
    return e;
  });
  const byOffset = entries.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1];
    const cur = byOffset[i];
    if (cur.offset < prev.offset + prev.length) {
      throw new FrameError(`tensor "${cur.name}" (bytes ${cur.offset}..${cur.offset + cur.length}) overlaps tensor "${prev.name}" (bytes ${prev.offset}..${prev.offset + prev.length})`);
    }
  }
  const last = byOffset.at(-1);
  const end = last ? Math.ceil((last.offset + last.length) / ALIGN) * ALIGN : 0;
  if (area > end) throw new FrameError(`${area - end} bytes of trailing garbage after the last tensor`);
  if (area < end) throw new FrameError(`truncated frame: ${end - area} bytes short of the layout its envelope declares`);
  return entries;
}

function readEntry(raw: unknown, index: number, area: number): TensorEntry {
  if (!isPlainObject(raw)) throw new FrameError(`tensor entry ${index} must be a map, got ${kindOf(raw)}`);
  const { name, dtype, shape, offset, length } = raw;
  checkTensorName(name, index);
  const label = `tensor "${name}"`;
  if (!isDType(dtype)) throw new FrameError(`${label}: unknown dtype ${kindOf(dtype)} (known: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  if (!Array.isArray(shape)) throw new FrameError(`${label}: shape must be an array of sizes, got ${kindOf(shape)}`);
  if (shape.length > MAX_TENSOR_DIMS) throw new FrameError(`${label}: shape has ${shape.length} dimensions, at most ${MAX_TENSOR_DIMS} are allowed`);
  shape.forEach((d: unknown, i) => {
    if (!isCount(d)) throw new FrameError(`${label}: dimension ${i} of the shape is ${kindOf(d)}, not a non-negative integer`);
  });
  const dims = shape as number[];
  if (!isCount(offset)) throw new FrameError(`${label}: offset is ${kindOf(offset)}, not a non-negative integer`);
  if (offset % ALIGN !== 0) throw new FrameError(`${label}: offset ${offset} is not a multiple of ${ALIGN}`);
  if (!isCount(length)) throw new FrameError(`${label}: length is ${kindOf(length)}, not a non-negative integer`);
  if (offset > area || length > area - offset) {
    throw new FrameError(`${label}: bytes ${offset}..${offset + length} lie outside the frame's tensor area of ${Math.max(0, area)} bytes (truncated?)`);
  }
  // The element count times the dtype's size, multiplied out only while it
  // stays exact, so a declared shape can neither overflow nor mislead.
  let need = dims.includes(0) ? 0 : DTYPE_BYTES[dtype];
  for (const d of dims) {
    need *= d;
    if (need > Number.MAX_SAFE_INTEGER) break;
  }
  if (need !== length) {
    const needs = need > Number.MAX_SAFE_INTEGER ? `more than ${Number.MAX_SAFE_INTEGER}` : String(need);
    throw new FrameError(`${label}: shape [${dims.join(', ')}] of ${dtype} needs ${needs} bytes, the entry says ${length}`);
  }
  return { name, dtype, shape: [...dims], offset, length };
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A short description of a value for an error message; never the value in full. */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Uint8Array) return `${v.byteLength} raw bytes`;
  if (isPlainObject(v)) return 'a map';
  return typeof v === 'object' ? 'an object' : typeof v;
}
