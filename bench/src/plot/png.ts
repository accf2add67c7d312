/**
 * PNG encoder: 8-bit RGB or RGBA rasters to PNG bytes. Each scanline gets the
 * filter (None, Sub, Up, Average or Paeth) with the smallest sum of absolute
 * filtered bytes, the heuristic libpng uses; the filtered lines go through
 * zlib's deflate (node:zlib writes the zlib header and Adler-32 trailer).
 */
import { deflateSync } from 'node:zlib';

export interface Raster {
  readonly width: number;
  readonly height: number;
  /** 3 for RGB, 4 for RGBA. */
  readonly channels: 3 | 4;
  /** Row-major pixels, `width * height * channels` bytes, top row first. */
  readonly data: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309 / ITU-T V.42, the one PNG and zlib's gzip use) of `bytes`. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes a raster as a PNG file. Throws a RangeError when the raster's sizes do not add up. */
export function encodePng(raster: Raster): Uint8Array {
  const { width, height, channels, data } = raster;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG size must be positive integers, got ${width}x${height}`);
  }
  if (channels !== 3 && channels !== 4) throw new RangeError(`PNG channels must be 3 (RGB) or 4 (RGBA), got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`raster data holds ${data.length} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = channels === 4 ? 6 : 2; // colour type: truecolour (with alpha)
  // bytes 10–12: deflate compression, adaptive filtering, no interlace (all 0)
  const idat = deflateSync(filterScanlines(raster), { level: 9 });
  const chunks = [chunk('IHDR', header), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0));
  out.set(SIGNATURE, 0);
  let at = SIGNATURE.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** length, type, data, CRC of type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** Every scanline prefixed with its filter type byte and filtered with it. */
function filterScanlines({ width, height, channels, data }: Raster): Uint8Array {
  const stride = width * channels;
  const out = new Uint8Array(height * (stride + 1));
  const candidate = new Uint8Array(stride);
  const best = new Uint8Array(stride);
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const line = data.subarray(y * stride, (y + 1) * stride);
    const prior = y === 0 ? zero : data.subarray((y - 1) * stride, y * stride);
    let bestType = 0;
    let bestCost = Infinity;
    for (let type = 0; type <= 4; type++) {
      const cost = applyFilter(type, line, prior, channels, candidate);
      if (cost < bestCost) {
        bestCost = cost;
        bestType = type;
        best.set(candidate);
      }
    }
    const at = y * (stride + 1);
    out[at] = bestType;
    out.set(best, at + 1);
  }
  return out;
}

/** Writes `line` filtered with `type` into `out`; returns the sum of the filtered bytes read as signed. */
function applyFilter(type: number, line: Uint8Array, prior: Uint8Array, bpp: number, out: Uint8Array): number {
  let cost = 0;
  for (let i = 0; i < line.length; i++) {
    const a = i >= bpp ? line[i - bpp] : 0;
    const b = prior[i];
    const c = i >= bpp ? prior[i - bpp] : 0;
    let predicted: number;
    if (type === 0) predicted = 0;
    else if (type === 1) predicted = a;
    else if (type === 2) predicted = b;
    else if (type === 3) predicted = (a + b) >>> 1;
    else predicted = paeth(a, b, c);
    const v = (line[i] - predicted) & 0xff;
    out[i] = v;
    cost += v < 128 ? v : 256 - v;
  }
  return cost;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}
