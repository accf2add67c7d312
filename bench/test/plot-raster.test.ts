/**
 * The raster layer of the plotting module: CRC-32, the PNG encoder (read back
 * by ffprobe and decoded by ffmpeg byte for byte), tick choice, the bitmap
 * font and the canvas's shapes and text.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Canvas, OKABE_ITO, THEME, crc32, encodePng, formatTick, measureText, niceTicks, type Rgb } from '../src/plot/index.ts';
import { GLYPH_COUNT, glyphColumns } from '../src/plot/font.ts';
import { Decoded, probePng } from './helpers/png-facts.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'spool-raster-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('crc32', () => {
  it('matches the published check values', () => {
    expect(crc32(ascii(''))).toBe(0);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(ascii('IEND'))).toBe(0xae426082); // the CRC every PNG ends with
  });

  it('agrees with zlib on arbitrary bytes and on a sub-range', () => {
    const bytes = Uint8Array.from({ length: 4099 }, (_, i) => (i * 2654435761) >>> 24);
    expect(crc32(bytes)).toBe(zlib.crc32(bytes));
    expect(crc32(bytes, 100, 300)).toBe(zlib.crc32(bytes.subarray(100, 300)));
  });
});

describe('encodePng', () => {
  /**
   * Rows built so that each of the five filters predicts one of them exactly:
   * noise (None), a ramp (Sub), a copy of the row above (Up), the mean of left
   * and above (Average), the Paeth predictor of left, above, upper-left (Paeth).
   */
  const pattern = (w: number, h: number, bpp: 3 | 4): Uint8Array => {
    const data = new Uint8Array(w * h * bpp);
    const stride = w * bpp;
    let seed = 5;
    const noise = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const paeth = (a: number, b: number, c: number): number => {
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    };
    for (let y = 0; y < h; y++) {
      const kind = y === 0 ? 0 : y % 5;
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? data[y * stride + i - bpp] : noise();
        const b = y > 0 ? data[(y - 1) * stride + i] : 0;
        const c = y > 0 && i >= bpp ? data[(y - 1) * stride + i - bpp] : 0;
        const value = [noise(), (a + 9) & 0xff, b, (a + b) >>> 1, paeth(a, b, c)][kind];
        data[y * stride + i] = kind === 0 || i >= bpp ? value : noise();
      }
    }
    return data;
  };

  it.each([3, 4] as const)('round-trips %i channels through ffmpeg byte for byte', async (channels) => {
    const raster = { width: 97, height: 61, channels, data: pattern(97, 61, channels) };
    const png = encodePng(raster);
    const file = path.join(dir, `pattern-${channels}.png`);
    writeFileSync(file, png);
    expect(await probePng(file)).toMatchObject({ codec: 'png', width: 97, height: 61, pixFmt: channels === 4 ? 'rgba' : 'rgb24' });
    const decoded = await Decoded.from(file, 97, 61, channels);
    expect(Uint8Array.from(decoded.bytes)).toEqual(raster.data);
  });

  it('writes signature, IHDR, IDAT, IEND with valid CRCs and picks filters per line', () => {
    const png = encodePng({ width: 37, height: 23, channels: 3, data: pattern(37, 23, 3) });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(png.buffer, png.byteOffset);
    const chunks: Array<{ type: string; data: Uint8Array }> = [];
    for (let at = 8; at < png.length; ) {
      const length = view.getUint32(at);
      const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
      expect(view.getUint32(at + 8 + length), `${type} CRC`).toBe(zlib.crc32(png.subarray(at + 4, at + 8 + length)));
      chunks.push({ type, data: png.subarray(at + 8, at + 8 + length) });
      at += 12 + length;
    }
    expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
    expect([...chunks[0].data]).toEqual([0, 0, 0, 37, 0, 0, 0, 23, 8, 2, 0, 0, 0]);
    const lines = zlib.inflateSync(chunks[1].data); // a zlib stream: header and Adler-32 checked by inflate
    expect(lines.length).toBe(23 * (37 * 3 + 1));
    const filters = new Set(Array.from({ length: 23 }, (_, y) => lines[y * (37 * 3 + 1)]));
    expect([...filters].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects a raster whose bytes do not match its size', () => {
    expect(() => encodePng({ width: 4, height: 4, channels: 3, data: new Uint8Array(47) })).toThrow(/47 bytes, 4x4x3 needs 48/);
    expect(() => encodePng({ width: 0, height: 4, channels: 3, data: new Uint8Array(0) })).toThrow(/positive integers/);
  });
});

describe('niceTicks', () => {
  it.each([
    [0, 97, 5, [0, 20, 40, 60, 80, 100]],
    [0, 1, 5, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [412.3, 418.9, 5, [412, 414, 416, 418, 420]],
    [-3, 12, 5, [-5, 0, 5, 10, 15]],
    [0, 0.037, 5, [0, 0.01, 0.02, 0.03, 0.04]],
    [0, 300, 6, [0, 50, 100, 150, 200, 250, 300]],
    [0, 0, 4, [-1, -0.5, 0, 0.5, 1]],
  ])('%f..%f in at most %i intervals', (lo, hi, target, values) => {
    expect(niceTicks(lo, hi, target).values).toEqual(values);
  });

  it('covers any range with evenly spaced 1-2-5 steps, within the target', () => {
    let seed = 11;
    const rnd = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const lo = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 8 - 3);
      const hi = lo + rnd() * 10 ** Math.floor(rnd() * 8 - 3);
      const target = 2 + Math.floor(rnd() * 10);
      const t = niceTicks(lo, hi, target);
      expect(t.min).toBeLessThanOrEqual(lo);
      expect(t.max).toBeGreaterThanOrEqual(hi);
      expect(t.values.length - 1).toBeLessThanOrEqual(target);
      const mantissa = t.step / 10 ** Math.floor(Math.log10(t.step) + 1e-9);
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
      t.values.slice(1).forEach((v, k) => expect(v - t.values[k]).toBeCloseTo(t.step, 9));
    }
  });

  it('formats labels with the digits the step needs', () => {
    const t = niceTicks(0, 1, 4);
    expect(t.values.map((v) => formatTick(v, t))).toEqual(['0.0', '0.5', '1.0']);
    expect(formatTick(-0.0001, { decimals: 1 })).toBe('0.0');
    expect(formatTick(1500, niceTicks(0, 2000, 4))).toBe('1500');
  });
});

describe('font and canvas', () => {
  it('has a distinct glyph for every printable ASCII character', () => {
    expect(GLYPH_COUNT).toBe(95);
    const seen = new Set<string>();
    for (let code = 0x21; code <= 0x7e; code++) {
      const columns = glyphColumns(String.fromCharCode(code));
      expect(columns.some((c) => c !== 0), String.fromCharCode(code)).toBe(true);
      seen.add(columns.join());
    }
    expect(seen.size).toBe(94);
    expect(glyphColumns('é')).toEqual(glyphColumns('?'));
  });

  it('inks text inside its box and nowhere else, in every alignment and turned', async () => {
    const canvas = new Canvas(300, 200, THEME.background);
    const boxes = [
      canvas.text('Spool 42, gpq!', 150, 12, THEME.text, { scale: 2, align: 'center' }),
      canvas.text('right', 290, 50, OKABE_ITO.blue, { scale: 3, align: 'right' }),
      canvas.text('left|', 100, 100, OKABE_ITO.vermillion),
      canvas.text('RSS (MB)', 20, 190, THEME.text, { scale: 2, rotate: true }),
      canvas.text('RSS (MB)', 60, 150, THEME.text, { scale: 2 }),
    ];
    expect(boxes[0]).toEqual({ x: 150 - 83, y: 12, ...measureText('Spool 42, gpq!', 2) });
    expect(boxes[1].x + boxes[1].width).toBe(290);
    expect(boxes[3]).toEqual({ x: 20, y: 190 - measureText('RSS (MB)', 2).width, width: 18, height: measureText('RSS (MB)', 2).width });
    const file = path.join(dir, 'text.png');
    writeFileSync(file, canvas.toPng());
    expect(await probePng(file)).toMatchObject({ codec: 'png', width: 300, height: 200 });
    const img = await Decoded.from(file, 300, 200);
    const inked = boxes.map(() => 0);
    for (let y = 0; y < 200; y++) {
      for (let x = 0; x < 300; x++) {
        if (img.is(x, y, THEME.background)) continue;
        const k = boxes.findIndex((b) => x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height);
        expect(k, `ink at ${x},${y} outside every text box`).toBeGreaterThanOrEqual(0);
        inked[k]++;
      }
    }
    inked.forEach((n, k) => expect(n, `text ${k}`).toBeGreaterThan(0.1 * boxes[k].width * boxes[k].height));
    // turned text is the flat text rotated a quarter turn counter-clockwise: reads bottom to top
    const [turned, flat] = [boxes[3], boxes[4]];
    for (let v = 0; v < flat.height; v++) {
      for (let u = 0; u < flat.width; u++) {
        const ink = !img.is(flat.x + u, flat.y + v, THEME.background);
        expect(!img.is(turned.x + v, turned.y + turned.height - 1 - u, THEME.background), `turned text at ${u},${v}`).toBe(ink);
      }
    }
    // g, p and q reach into the two descender rows (scale 2: the box's last 4 rows)
    const b = boxes[0];
    let descender = 0;
    for (let y = b.y + b.height - 4; y < b.y + b.height; y++) for (let x = b.x; x < b.x + b.width; x++) if (!img.is(x, y, THEME.background)) descender++;
    expect(descender).toBeGreaterThan(0);
  });

  it('draws thick lines, markers and dashes where they belong', () => {
    const c = new Canvas(60, 60, THEME.background);
    const ink: Rgb = OKABE_ITO.blue;
    const count = (x0: number, y0: number, x1: number, y1: number): number => {
      let n = 0;
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (c.pixel(x, y).join() === ink.join()) n++;
      return n;
    };
    c.line(5, 10, 50, 10, ink, 3);
    expect(count(0, 0, 59, 59)).toBe(46 * 3 + 2 * 3); // 46 columns plus a 1 px square end each side
    c.fillRect(0, 0, 60, 60, THEME.background);
    c.line(3, 5, 40, 50, ink, 1);
    expect(c.pixel(3, 5)).toEqual(ink);
    expect(c.pixel(40, 50)).toEqual(ink);
    for (let y = 5; y <= 50; y++) expect(count(0, y, 59, y), `row ${y}`).toBeGreaterThan(0);
    c.fillRect(0, 0, 60, 60, THEME.background);
    c.marker(30, 30, 'circle', 9, ink);
    expect(c.pixel(30, 26)).toEqual(ink);
    expect(c.pixel(26, 26)).toEqual(THEME.background);
    c.marker(10, 10, 'square', 9, ink);
    expect(c.pixel(6, 6)).toEqual(ink);
    c.fillRect(0, 0, 60, 60, THEME.background);
    c.dashedVLine(20, 0, 59, ink, { dash: 6, gap: 4 });
    expect(count(20, 0, 20, 59)).toBe(36);
    expect(count(0, 0, 19, 59) + count(21, 0, 59, 59)).toBe(0);
  });
});
