/**
 * An RGB raster to draw charts on. Coordinates are pixel indices with pixel
 * centres on integers: (0, 0) is the top-left pixel. Shapes take fractional
 * positions and ink the pixels whose centres they cover; nothing is blended,
 * so every pixel carries exactly one of the colours drawn.
 */
import type { Rgb } from './colors.ts';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphColumns, measureText } from './font.ts';
import { encodePng, type Raster } from './png.ts';

export type Align = 'left' | 'center' | 'right';
export type MarkerShape = 'circle' | 'square';

export interface TextOptions {
  /** Integer magnification of the 5×7 font; default 1. */
  readonly scale?: number;
  /** Where `x` sits on the text: its left end, its centre or its right end; default left. */
  readonly align?: Align;
  /**
   * Rotate 90° counter-clockwise, reading bottom to top (a y-axis label).
   * Then `x` is the left edge of the turned text and `align` applies along y:
   * left puts the text's start at `y`, right its end, center its middle.
   */
  readonly rotate?: boolean;
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;

  constructor(width: number, height: number, background: Rgb) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`canvas size must be positive integers, got ${width}x${height}`);
    }
    this.width = width;
    this.height = height;
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Inks one pixel; positions off the canvas are ignored. */
  setPixel(x: number, y: number, color: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const at = (y * this.width + x) * 3;
    this.data[at] = color[0];
    this.data[at + 1] = color[1];
    this.data[at + 2] = color[2];
  }

  /** The colour of one pixel. */
  pixel(x: number, y: number): Rgb {
    const at = (y * this.width + x) * 3;
    return [this.data[at], this.data[at + 1], this.data[at + 2]];
  }

  /** Fills `w`×`h` pixels from (x, y), rounded to whole pixels and clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let py = y0; py < y1; py++) {
      for (let px = x0; px < x1; px++) {
        const at = (py * this.width + px) * 3;
        this.data[at] = color[0];
        this.data[at + 1] = color[1];
        this.data[at + 2] = color[2];
      }
    }
  }

  /**
   * A line `thickness` pixels wide: every pixel whose centre lies within
   * thickness/2 of the segment. Horizontal and vertical lines take a fast path
   * with square ends.
   */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1): void {
    const r = thickness / 2;
    if (y0 === y1 || x0 === x1) {
      const left = Math.ceil(Math.min(x0, x1) - r);
      const right = Math.floor(Math.max(x0, x1) + r);
      const top = Math.ceil(Math.min(y0, y1) - r);
      const bottom = Math.floor(Math.max(y0, y1) + r);
      this.fillRect(left, top, right - left + 1, bottom - top + 1, color);
      return;
    }
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    const xa = Math.max(0, Math.ceil(Math.min(x0, x1) - r));
    const xb = Math.min(this.width - 1, Math.floor(Math.max(x0, x1) + r));
    const ya = Math.max(0, Math.ceil(Math.min(y0, y1) - r));
    const yb = Math.min(this.height - 1, Math.floor(Math.max(y0, y1) + r));
    for (let py = ya; py <= yb; py++) {
      for (let px = xa; px <= xb; px++) {
        // distance from the pixel centre to the nearest point of the segment
        const t = Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / len2));
        const ex = x0 + t * dx - px;
        const ey = y0 + t * dy - py;
        if (ex * ex + ey * ey <= r * r) this.setPixel(px, py, color);
      }
    }
  }

  /** Connected line segments through `points`. */
  polyline(points: ReadonlyArray<readonly [number, number]>, color: Rgb, thickness = 1): void {
    for (let i = 1; i < points.length; i++) {
      const [xa, ya] = points[i - 1];
      const [xb, yb] = points[i];
      this.line(xa, ya, xb, yb, color, thickness);
    }
    if (points.length === 1) this.line(points[0][0], points[0][1], points[0][0], points[0][1], color, thickness);
  }

  /** A filled circle or square of `size` pixels across, centred on (x, y). */
  marker(x: number, y: number, shape: MarkerShape, size: number, color: Rgb): void {
    const r = size / 2;
    for (let py = Math.ceil(y - r); py <= Math.floor(y + r); py++) {
      for (let px = Math.ceil(x - r); px <= Math.floor(x + r); px++) {
        if (shape === 'square' || (px - x) ** 2 + (py - y) ** 2 <= r * r) this.setPixel(px, py, color);
      }
    }
  }

  /** A vertical dashed line at column x from y0 down to y1: `dash` pixels on, `gap` off. */
  dashedVLine(x: number, y0: number, y1: number, color: Rgb, opts: { dash?: number; gap?: number; thickness?: number } = {}): void {
    const dash = opts.dash ?? 6;
    const gap = opts.gap ?? 4;
    const thickness = Math.max(1, Math.round(opts.thickness ?? 1));
    const left = Math.round(x) - Math.floor((thickness - 1) / 2);
    const top = Math.round(Math.min(y0, y1));
    const bottom = Math.round(Math.max(y0, y1));
    for (let y = top; y <= bottom; y += dash + gap) {
      this.fillRect(left, y, thickness, Math.min(dash, bottom - y + 1), color);
    }
  }

  /**
   * Draws one line of text in the built-in 5×7 font with its top at `y`
   * (unrotated); returns the box it occupies. Characters outside printable
   * ASCII are drawn as "?".
   */
  text(text: string, x: number, y: number, color: Rgb, opts: TextOptions = {}): Box {
    const scale = Math.max(1, Math.round(opts.scale ?? 1));
    const { width: length, height: thickness } = measureText(text, scale);
    const shift = opts.align === 'center' ? Math.round(length / 2) : opts.align === 'right' ? length : 0;
    const ox = Math.round(x);
    const oy = Math.round(y);
    const box: Box = opts.rotate
      ? { x: ox, y: oy + shift - length, width: thickness, height: length }
      : { x: ox - shift, y: oy, width: length, height: thickness };
    let i = 0;
    for (const char of text) {
      const columns = glyphColumns(char);
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        for (let row = 0; row < GLYPH_HEIGHT; row++) {
          if (((columns[col] >> row) & 1) === 0) continue;
          const along = (i * GLYPH_ADVANCE + col) * scale;
          if (opts.rotate) this.fillRect(box.x + row * scale, box.y + box.height - along - scale, scale, scale, color);
          else this.fillRect(box.x + along, box.y + row * scale, scale, scale, color);
        }
      }
      i++;
    }
    return box;
  }

  toRaster(): Raster {
    return { width: this.width, height: this.height, channels: 3, data: this.data };
  }

  toPng(): Uint8Array {
    return encodePng(this.toRaster());
  }
}
