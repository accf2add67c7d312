/**
 * The legend under a chart: one entry per series or outcome (a swatch and a
 * label), laid out in rows that wrap to the canvas width and are centred.
 */
import type { Box, Canvas } from './canvas.ts';
import type { Rgb } from './colors.ts';
import { THEME } from './colors.ts';
import { measureText } from './font.ts';

export interface LegendEntry {
  readonly label: string;
  readonly color: Rgb;
  /** A filled block (bars), or a line with the series' marker on it. */
  readonly swatch: 'block' | 'line-circle' | 'line-square';
}

export interface PlacedEntry {
  readonly entry: LegendEntry;
  readonly swatch: Box;
  readonly text: Box;
}

export const LEGEND_TEXT_SCALE = 2;
const SWATCH_WIDTH = { block: 14, 'line-circle': 26, 'line-square': 26 } as const;
const SWATCH_HEIGHT = 14;
const SWATCH_GAP = 8;
const ENTRY_GAP = 28;
const ROW_HEIGHT = 18;
const ROW_GAP = 8;

/** How many rows the entries need within `width` pixels, and their total height. */
export function legendRows(entries: readonly LegendEntry[], width: number): { rows: LegendEntry[][]; height: number } {
  const rows: LegendEntry[][] = [];
  let used = Infinity;
  for (const entry of entries) {
    const w = entryWidth(entry);
    if (used + ENTRY_GAP + w > width) {
      rows.push([entry]);
      used = w;
    } else {
      rows[rows.length - 1].push(entry);
      used += ENTRY_GAP + w;
    }
  }
  return { rows, height: rows.length === 0 ? 0 : rows.length * ROW_HEIGHT + (rows.length - 1) * ROW_GAP };
}

/** Places the rows from `top`, each centred on `centerX`. */
export function placeLegend(rows: readonly LegendEntry[][], centerX: number, top: number): PlacedEntry[] {
  const placed: PlacedEntry[] = [];
  rows.forEach((row, r) => {
    const rowWidth = row.reduce((n, e) => n + entryWidth(e), 0) + ENTRY_GAP * (row.length - 1);
    let x = Math.round(centerX - rowWidth / 2);
    const y = top + r * (ROW_HEIGHT + ROW_GAP);
    for (const entry of row) {
      const swatch = { x, y: y + 1, width: SWATCH_WIDTH[entry.swatch], height: SWATCH_HEIGHT };
      const size = measureText(entry.label, LEGEND_TEXT_SCALE);
      const text = { x: x + swatch.width + SWATCH_GAP, y, width: size.width, height: size.height };
      placed.push({ entry, swatch, text });
      x = text.x + text.width + ENTRY_GAP;
    }
  });
  return placed;
}

export function drawLegend(canvas: Canvas, placed: readonly PlacedEntry[]): void {
  for (const { entry, swatch, text } of placed) {
    if (entry.swatch === 'block') {
      canvas.fillRect(swatch.x, swatch.y, swatch.width, swatch.height, entry.color);
    } else {
      const midY = swatch.y + Math.floor(swatch.height / 2);
      const midX = swatch.x + Math.floor(swatch.width / 2);
      canvas.line(swatch.x, midY, swatch.x + swatch.width - 1, midY, entry.color, 3);
      canvas.marker(midX, midY, entry.swatch === 'line-circle' ? 'circle' : 'square', 9, entry.color);
    }
    canvas.text(entry.label, text.x, text.y, THEME.text, { scale: LEGEND_TEXT_SCALE });
  }
}

function entryWidth(entry: LegendEntry): number {
  return SWATCH_WIDTH[entry.swatch] + SWATCH_GAP + measureText(entry.label, LEGEND_TEXT_SCALE).width;
}
