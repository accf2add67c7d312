/**
 * The trace waterfall, checked from the outside like the other charts: the
 * PNG is read back by ffprobe and decoded by ffmpeg, and the tests assert on
 * its pixels (bars in their service's colour over their time, banded rows,
 * label and note ink) and on its layout (tree order, indents, notes inside
 * the plot and cut to fit, one row height per span).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIN_BAR, PlotSpecError, ROW_BAND, SERIES_COLORS, THEME, layoutWaterfall, onColor, renderWaterfall, type Box, type WaterfallSpan, type WaterfallSpec } from '../src/plot/index.ts';
import { Decoded, probePng } from './helpers/png-facts.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'spool-waterfall-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function written(name: string, png: Uint8Array, width: number, height: number): Promise<Decoded> {
  const file = path.join(dir, name);
  writeFileSync(file, png);
  expect(await probePng(file)).toMatchObject({ codec: 'png', width, height });
  return Decoded.from(file, width, height);
}

const disjoint = (a: Box, b: Box): boolean => a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;

/** Pixels of `color` inside a box. */
function inkIn(img: Decoded, b: Box, color: readonly [number, number, number]): number {
  let n = 0;
  for (let y = b.y; y < b.y + b.height; y++) for (let x = b.x; x < b.x + b.width; x++) if (img.is(x, y, color)) n++;
  return n;
}

const groups = [
  { key: 'coordinator', label: 'spool-coordinator', color: SERIES_COLORS[0] },
  { key: 'text', label: 'spool-text-encoder', color: SERIES_COLORS[1] },
  { key: 'd0', label: 'spool-denoise-0', color: SERIES_COLORS[2] },
  { key: 'd1', label: 'spool-denoise-1', color: SERIES_COLORS[3] },
];
const colorOf = (group: string) => groups.find((g) => g.key === group)!.color;

// Given out of order: the chart puts each child under its parent, children in start order.
const spans: WaterfallSpan[] = [
  { id: 's2', parent: 'root', start: 40, end: 70, label: 'denoise step 2/2', group: 'coordinator' },
  { id: 'd0a', parent: 'calla', start: 12, end: 38, label: 'denoise.0 denoise', note: 'blocks 0:3, 2 rows', group: 'd0' },
  { id: 'root', start: 0, end: 100, label: 'POST /generate', note: 'seed 7, 49 frames, 30 steps', group: 'coordinator' },
  { id: 'te', parent: 'root', start: 2, end: 10, label: 'text-encode', group: 'coordinator' },
  { id: 'tes', parent: 'te', start: 3, end: 9, label: 'text-encoder encode', note: 'in 0 B, out 4 KB', group: 'text' },
  { id: 's1', parent: 'root', start: 10, end: 40, label: 'denoise step 1/2', group: 'coordinator' },
  { id: 'calla', parent: 's1', start: 11, end: 39, label: 'denoise shard-chain', group: 'coordinator' },
  { id: 'd1a', parent: 'd0a', start: 25, end: 37, label: 'denoise.1 denoise', note: 'blocks 3:6', group: 'd1' },
  { id: 'qw', parent: 'root', start: 0.5, end: 2, label: 'queue wait', group: 'coordinator' },
  { id: 'mark', parent: 's2', start: 55, end: 55, label: 'instant', group: 'coordinator' },
  // Its note does not fit right of the bar: it goes left.
  { id: 'late', parent: 's2', start: 69, end: 99, label: 'late span', note: 'written left of its bar', group: 'd1' },
];
const spec: WaterfallSpec = { title: 'one request', subtitle: 'a test trace', spans, groups, width: 1000 };

describe('renderWaterfall', () => {
  it('puts every child right under its parent, in start order, indented by depth', () => {
    const layout = layoutWaterfall(spec);
    expect(layout.spans.map((p) => [p.span.id, p.depth])).toEqual([
      ['root', 0],
      ['qw', 1],
      ['te', 1],
      ['tes', 2],
      ['s1', 1],
      ['calla', 2],
      ['d0a', 3],
      ['d1a', 4],
      ['s2', 1],
      ['mark', 2],
      ['late', 2],
    ]);
    const { frame } = layout;
    for (const p of layout.spans) {
      expect(p.label.x).toBe(layout.spans[0].label.x + p.depth * 6 * layout.textScale);
      expect(p.label.x + p.label.width, `${p.span.label} stays in the gutter`).toBeLessThan(frame.plot.left);
      expect(p.label.x).toBeGreaterThanOrEqual(frame.gutterLeft);
    }
  });

  it('draws each bar over its span in its group colour, one row per span', async () => {
    const layout = layoutWaterfall(spec);
    const { frame } = layout;
    const img = await written('waterfall.png', renderWaterfall(spec), 1000, frame.spec.height);
    for (const p of layout.spans) {
      expect(Math.round(frame.y(p.row + 1)) - Math.round(frame.y(p.row)), `row ${p.row} height`).toBe(22);
      const midY = p.bar.y + Math.floor(p.bar.height / 2);
      const color = colorOf(p.span.group);
      expect(p.bar.x).toBe(Math.round(frame.x(p.span.start)));
      expect(img.rgb(p.bar.x + Math.floor(p.bar.width / 2), midY), `${p.span.id} inside its bar`).toEqual(color);
      expect(img.rgb(p.bar.x, midY), `${p.span.id} at its start`).toEqual(color);
      expect(img.rgb(p.bar.x + p.bar.width - 1, midY), `${p.span.id} at its end`).toEqual(color);
      if (p.bar.x - 3 >= frame.plot.left) expect(img.is(p.bar.x - 3, midY, color), `${p.span.id} before its start`).toBe(false);
      expect(img.is(p.bar.x + p.bar.width + 2, midY, color), `${p.span.id} after its end`).toBe(false);
      // Rows alternate a faint band, the bar aside.
      expect(img.rgb(frame.plot.left - 2, midY), `row ${p.row} band`).toEqual(p.row % 2 === 1 ? ROW_BAND : THEME.background);
    }
    const instant = layout.spans.find((p) => p.span.id === 'mark')!;
    expect(instant.bar.width).toBe(MIN_BAR);
    expect(frame.xDomain[0]).toBe(0);
    expect(frame.xDomain[1]).toBeGreaterThanOrEqual(100);
  });

  it('writes names in the gutter and notes beside the bars, inside the plot, none overlapping', async () => {
    const layout = layoutWaterfall(spec);
    const { frame } = layout;
    const img = await written('waterfall-text.png', renderWaterfall(spec), 1000, frame.spec.height);
    const boxes: Box[] = [];
    for (const p of layout.spans) {
      expect(inkIn(img, p.label, THEME.text), `${p.span.label} is written`).toBeGreaterThan(20);
      boxes.push(p.label);
      if (!p.span.note) {
        expect(p.note).toBeUndefined();
        continue;
      }
      const note = p.note!;
      expect(note.x).toBeGreaterThanOrEqual(frame.plot.left);
      expect(note.x + note.width).toBeLessThanOrEqual(frame.plot.right + 1);
      if (note.inside) {
        // Only inside its bar was there room: written in a colour that reads on the bar.
        expect(note.x).toBeGreaterThan(p.bar.x);
        expect(note.x + note.width).toBeLessThan(p.bar.x + p.bar.width);
        expect(inkIn(img, note, onColor(colorOf(p.span.group))), `the note of ${p.span.id} is written`).toBeGreaterThan(20);
      } else {
        expect(disjoint(note, p.bar), `the note of ${p.span.id} clears its bar`).toBe(true);
        expect(inkIn(img, note, THEME.mutedText), `the note of ${p.span.id} is written`).toBeGreaterThan(20);
        boxes.push(note);
      }
    }
    // The root spans the whole trace: its note goes inside it.
    expect(layout.spans[0].note?.inside).toBe(true);
    expect(layout.spans.filter((p) => p.note?.inside)).toHaveLength(1);
    const late = layout.spans.find((p) => p.span.id === 'late')!;
    expect(late.note!.x + late.note!.width).toBeLessThan(late.bar.x);
    expect(late.note!.text).toBe(late.span.note);
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b, j) => expect(disjoint(a, b), `text boxes ${i} and ${i + 1 + j} overlap`).toBe(true)));
    expect(frame.legend.map((e) => e.entry.label)).toEqual(['spool-coordinator (7)', 'spool-text-encoder (1)', 'spool-denoise-0 (1)', 'spool-denoise-1 (2)']);
    for (const { entry, swatch } of frame.legend) expect(img.rgb(swatch.x + 3, swatch.y + 3)).toEqual(entry.color);
  });

  it('cuts a note that fits on neither side, and grows with its rows', async () => {
    const long = 'x'.repeat(300);
    const rows: WaterfallSpan[] = [{ id: 'r', start: 0, end: 25, label: 'root', note: long, group: 'coordinator' }];
    for (let i = 0; i < 60; i++) rows.push({ id: `c${i}`, parent: 'r', start: i * 0.8, end: i * 0.8 + 3, label: `child ${i}`, group: 'd0' });
    const big = { ...spec, spans: rows, width: 800 };
    const small = layoutWaterfall({ ...big, spans: rows.slice(0, 11) });
    const layout = layoutWaterfall(big);
    expect(layout.frame.spec.height - small.frame.spec.height).toBe(50 * 22);
    const root = layout.spans[0];
    expect(root.note!.inside).toBeUndefined();
    expect(root.note!.x).toBeGreaterThan(root.bar.x + root.bar.width);
    expect(root.note!.text.endsWith('...')).toBe(true);
    expect(root.note!.text.length).toBeLessThan(long.length);
    expect(root.note!.x + root.note!.width).toBeLessThanOrEqual(layout.frame.plot.right + 1);
    await written('waterfall-tall.png', renderWaterfall(big), 800, layout.frame.spec.height);
  });

  it('writes white on dark bars and near black on light ones', () => {
    expect(onColor(SERIES_COLORS[0])).toEqual(THEME.background); // blue
    expect(onColor(SERIES_COLORS[5])).toEqual(THEME.text); // sky blue
    expect(onColor(SERIES_COLORS[7])).toEqual(THEME.text); // yellow
  });

  it('rejects spans it cannot draw, saying what to fix', () => {
    const ok = spans[2];
    expect(() => renderWaterfall({ ...spec, spans: [] })).toThrow(PlotSpecError);
    expect(() => renderWaterfall({ ...spec, spans: [ok, ok] })).toThrow(/spans\[1\].id "root" is also the id of spans\[0\]/);
    expect(() => renderWaterfall({ ...spec, spans: [{ ...ok, parent: 'nobody' }] })).toThrow(/names parent "nobody", which is not the id of any span/);
    expect(() => renderWaterfall({ ...spec, spans: [{ ...ok, id: 'a', parent: 'b' }, { ...ok, id: 'b', parent: 'a' }] })).toThrow(/own ancestor/);
    expect(() => renderWaterfall({ ...spec, spans: [{ ...ok, end: -1 }] })).toThrow(/ends \(-1\) before it starts \(0\)/);
    expect(() => renderWaterfall({ ...spec, spans: [{ ...ok, start: Number.NaN }] })).toThrow(/spans\[0\].start must be a finite number/);
    expect(() => renderWaterfall({ ...spec, spans: [{ ...ok, group: 'gpu' }] })).toThrow(/group "gpu" is not one of coordinator, text, d0, d1; add it to spec.groups/);
    expect(() => renderWaterfall({ ...spec, width: 400, spans: [{ ...ok, label: 'a very long span name that takes the whole width' }] })).toThrow(/make it wider or the labels shorter/);
    expect(() => renderWaterfall({ ...spec, rowHeight: 4 })).toThrow(/rowHeight/);
  });
});
