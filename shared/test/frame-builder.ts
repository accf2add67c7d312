/** Builds frames by hand, envelope and tensor area as given, for tests that need frames encodeFrame would never write. */
import { encode as pack } from '@msgpack/msgpack';

export const MAGIC = [0x53, 0x50, 0x4c, 0x31];

/** A frame whose envelope is `envelope` packed as is, followed by padding and `area`. */
export function rawFrame(envelope: unknown, area: Uint8Array = new Uint8Array(0)): Uint8Array {
  return frameAround(pack(envelope), area);
}

/** A frame around envelope bytes that need not be msgpack at all. */
export function frameAround(envelope: Uint8Array, area: Uint8Array = new Uint8Array(0)): Uint8Array {
  const base = Math.ceil((8 + envelope.byteLength) / 8) * 8;
  const out = new Uint8Array(base + area.byteLength);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, envelope.byteLength, true);
  out.set(envelope, 8);
  out.set(area, base);
  return out;
}

/** A float32 [2] entry at offset 0, with `over` replacing any field. */
export const entry = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'x', dtype: 'float32', shape: [2], offset: 0, length: 8, ...over });
