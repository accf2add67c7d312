/**
 * A trace waterfall: one row per span, each child right under its parent
 * (depth first, children in start order), a bar from the span's start to its
 * end coloured by its group (the service that made it), its name left of the
 * plot indented by depth, and a note beside the bar (its key attributes).
 * Rows alternate a faint band so a long row can be followed across. The
 * chart is as tall as its rows need.
 */
import { type Box, Canvas } from './canvas.ts';
import { type Rgb, THEME, hex } from './colors.ts';
import { PlotSpecError, requireFinite } from './errors.ts';
import { type Frame, drawFrame, drawGrid, extent, layoutFrame } from './frame.ts';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, CAP_HEIGHT, measureText } from './font.ts';

export interface WaterfallSpan {
  readonly id: string;
  /** The id of its parent among the spans; absent for a root. */
  readonly parent?: string;
  /** In the x axis's unit (ms since the trace began). */
  readonly start: number;
  readonly end: number;
  /** Left of the plot, indented by depth: the span's name. Printable ASCII. */
  readonly label: string;
  /** Beside the bar: what to know about the span. Printable ASCII. */
  readonly note?: string;
  /** Key of one of the spec's groups: the bar's colour. */
  readonly group: string;
}

export interface WaterfallGroup {
  readonly key: string;
  /** Legend text; the number of spans is appended. */
  readonly label: string;
  readonly color: Rgb;
}

export interface WaterfallSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly spans: readonly WaterfallSpan[];
  /** Legend order and colours. */
  readonly groups: readonly WaterfallGroup[];
  /** Default "ms since the trace began". */
  readonly xLabel?: string;
  /** Pixels; default 1600. The height follows from the rows. */
  readonly width?: number;
  /** Pixels per row; default 22 (labels at twice the font size need at least 20). */
  readonly rowHeight?: number;
}

export interface PlacedSpan {
  readonly span: WaterfallSpan;
  /** 0 is the top row. */
  readonly row: number;
  /** 0 for a root. */
  readonly depth: number;
  readonly bar: Box;
  readonly label: Box;
  /** The note as drawn (cut with "..." when it does not fit), and where; `inside` the bar when only there was room. */
  readonly note?: Box & { readonly text: string; readonly inside?: boolean };
}

export interface WaterfallLayout {
  readonly frame: Frame;
  readonly spans: readonly PlacedSpan[];
  readonly textScale: number;
}

/** Indent per level of depth, in pixels at text scale 1. */
const INDENT = 6;
/** Space between a bar and its note, and around labels. */
const PAD = 6;
/** The faint band behind every other row. */
export const ROW_BAND: Rgb = hex('#f4f4f4');
/** A bar is at least this wide, so a span of no measurable length still shows. */
export const MIN_BAR = 2;
const LABEL_COLOR: Rgb = THEME.text;
const NOTE_COLOR: Rgb = THEME.mutedText;

export function renderWaterfall(spec: WaterfallSpec): Uint8Array {
  const layout = layoutWaterfall(spec);
  const { frame, textScale } = layout;
  const canvas = new Canvas(frame.spec.width, frame.spec.height, THEME.background);
  const colors = new Map(spec.groups.map((g) => [g.key, g.color]));
  for (const p of layout.spans) {
    if (p.row % 2 === 1) {
      const top = Math.round(frame.y(p.row));
      canvas.fillRect(frame.gutterLeft, top, frame.plot.right + 1 - frame.gutterLeft, Math.round(frame.y(p.row + 1)) - top, ROW_BAND);
    }
  }
  drawGrid(canvas, frame);
  for (const p of layout.spans) {
    canvas.fillRect(p.bar.x, p.bar.y, p.bar.width, p.bar.height, colors.get(p.span.group)!);
    canvas.text(p.span.label, p.label.x, p.label.y, LABEL_COLOR, { scale: textScale });
    if (p.note) canvas.text(p.note.text, p.note.x, p.note.y, p.note.inside ? onColor(colors.get(p.span.group)!) : NOTE_COLOR, { scale: textScale });
  }
  drawFrame(canvas, frame);
  return canvas.toPng();
}

/** Where everything goes: rows in tree order, bars, labels and notes as boxes (what tests read pixels against). */
export function layoutWaterfall(spec: WaterfallSpec): WaterfallLayout {
  const width = spec.width ?? 1600;
  const rowHeight = spec.rowHeight ?? 22;
  if (!Number.isInteger(width) || width < 400 || width > 8000) throw new PlotSpecError(`waterfall width must be an integer from 400 to 8000, got ${width}`);
  if (!Number.isInteger(rowHeight) || rowHeight < 8 || rowHeight > 100) throw new PlotSpecError(`rowHeight must be an integer from 8 to 100, got ${rowHeight}`);
  const textScale = rowHeight >= 2 * GLYPH_HEIGHT + 2 ? 2 : 1;
  const counts = checkGroups(spec);
  const ordered = treeOrder(spec.spans);
  const labelWidth = (label: string, depth: number): number => depth * INDENT * textScale + measureText(label, textScale).width;
  const [, widest] = extent(ordered.map(({ span, depth }) => labelWidth(span.label, depth)));
  const gutter = widest + 2 * PAD;
  if (width - gutter < 300) throw narrow(gutter, width);
  const [first] = extent(spec.spans.map((s) => s.start));
  const [, last] = extent(spec.spans.map((s) => s.end));
  const frameSpec = (height: number) => ({
    width,
    height,
    title: spec.title,
    subtitle: spec.subtitle,
    x: { lo: Math.min(0, first), hi: last, label: spec.xLabel ?? 'ms since the trace began' },
    y: { lo: 0, hi: ordered.length, integer: true, exact: true },
    yDown: true,
    events: [],
    legend: spec.groups.map((g) => ({ label: `${g.label} (${counts.get(g.key) ?? 0})`, color: g.color, swatch: 'block' as const })),
    gutter,
  });
  // The frame around the plot has a fixed height; the plot gets exactly one row height per span.
  const probe = layoutFrame(frameSpec(4000));
  const around = 4000 - (probe.plot.bottom + 1 - probe.plot.top);
  const height = around + ordered.length * rowHeight;
  if (height > 12000) throw new PlotSpecError(`${ordered.length} spans at ${rowHeight} px a row make a chart ${height} px tall (at most 12000); lower rowHeight or draw fewer spans`);
  const frame = layoutFrame(frameSpec(height));
  if (frame.plot.right - frame.plot.left < 200) throw narrow(gutter, width);
  const textHeight = measureText('X', textScale).height;
  const spans = ordered.map(({ span, depth }, row): PlacedSpan => {
    const top = Math.round(frame.y(row));
    const bottom = Math.round(frame.y(row + 1));
    const inset = Math.max(1, Math.floor((bottom - top) / 10));
    const left = Math.round(frame.x(span.start));
    const right = Math.max(left + MIN_BAR, Math.round(frame.x(span.end)) + 1);
    const bar = { x: left, y: top + inset, width: right - left, height: bottom - top - 2 * inset };
    // Text centred on the row by its capitals, as tick labels are.
    const textTop = Math.round((top + bottom) / 2 - (CAP_HEIGHT * textScale) / 2);
    const size = measureText(span.label, textScale);
    const label = { x: frame.gutterLeft + PAD + depth * INDENT * textScale, y: textTop, width: size.width, height: size.height };
    const note = span.note ? placeNote(span.note, bar, frame, textScale, textTop, textHeight) : undefined;
    return { span, row, depth, bar, label, ...(note ? { note } : {}) };
  });
  return { frame, spans, textScale };
}

/** Text that reads on a bar of `color`: white on a dark one, near black on a light one. */
export function onColor(color: Rgb): Rgb {
  const [r, g, b] = color.map((c) => {
    const v = c / 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Whichever of white (1) and near black (about 0.016) contrasts more.
  return (1.05) / (luminance + 0.05) >= (luminance + 0.05) / 0.066 ? THEME.background : THEME.text;
}

function narrow(gutter: number, width: number): PlotSpecError {
  return new PlotSpecError(`span labels need ${gutter} px of a ${width} px wide chart, too little is left to plot in; make it wider or the labels shorter`);
}

/**
 * Right of the bar when it fits, else left of it, else inside it (a long
 * span: the root), else on the roomier side outside, cut to fit.
 */
function placeNote(text: string, bar: Box, frame: Frame, scale: number, y: number, height: number): PlacedSpan['note'] {
  const { left: plotLeft, right: plotRight } = frame.plot;
  const width = measureText(text, scale).width;
  const rightRoom = plotRight - (bar.x + bar.width + PAD);
  const leftRoom = bar.x - PAD - plotLeft;
  if (width <= rightRoom) return { text, x: bar.x + bar.width + PAD, y, width, height };
  if (width <= leftRoom) return { text, x: bar.x - PAD - width, y, width, height };
  if (width <= bar.width - 2 * PAD) return { text, x: bar.x + PAD, y, width, height, inside: true };
  const room = Math.max(rightRoom, leftRoom);
  const chars = Math.floor((room + scale) / (GLYPH_ADVANCE * scale)) - 3;
  if (chars < 4) return undefined;
  const cut = `${text.slice(0, chars).trimEnd()}...`;
  const w = measureText(cut, scale).width;
  return rightRoom >= leftRoom ? { text: cut, x: bar.x + bar.width + PAD, y, width: w, height } : { text: cut, x: bar.x - PAD - w, y, width: w, height };
}

/** Roots in start order, each followed by its subtree, children in start order (ties in input order). */
function treeOrder(spans: readonly WaterfallSpan[]): Array<{ span: WaterfallSpan; depth: number }> {
  if (spans.length === 0) throw new PlotSpecError('a waterfall needs at least one span in spec.spans');
  const ids = new Map<string, number>();
  spans.forEach((s, i) => {
    if (typeof s.id !== 'string' || s.id === '') throw new PlotSpecError(`spans[${i}].id must be a non-empty string`);
    if (ids.has(s.id)) throw new PlotSpecError(`spans[${i}].id "${s.id}" is also the id of spans[${ids.get(s.id)}]; ids must be unique`);
    ids.set(s.id, i);
    requireFinite(s.start, `spans[${i}].start`);
    requireFinite(s.end, `spans[${i}].end`);
    if (s.end < s.start) throw new PlotSpecError(`spans[${i}] ("${s.label}") ends (${s.end}) before it starts (${s.start})`);
  });
  const children = new Map<string | undefined, Array<{ span: WaterfallSpan; i: number }>>();
  spans.forEach((span, i) => {
    if (span.parent !== undefined && !ids.has(span.parent)) {
      throw new PlotSpecError(`spans[${i}] ("${span.label}") names parent "${span.parent}", which is not the id of any span; leave parent out for a root`);
    }
    const list = children.get(span.parent) ?? [];
    list.push({ span, i });
    children.set(span.parent, list);
  });
  const out: Array<{ span: WaterfallSpan; depth: number }> = [];
  const visit = (parent: string | undefined, depth: number): void => {
    const list = (children.get(parent) ?? []).sort((a, b) => a.span.start - b.span.start || a.i - b.i);
    for (const { span } of list) {
      out.push({ span, depth });
      visit(span.id, depth + 1);
    }
  };
  visit(undefined, 0);
  if (out.length < spans.length) {
    const lost = spans.find((s) => !out.some((o) => o.span === s))!;
    throw new PlotSpecError(`span "${lost.id}" ("${lost.label}") is its own ancestor: the parents form a cycle`);
  }
  return out;
}

/** Checks every span's group and counts the spans of each. */
function checkGroups(spec: WaterfallSpec): Map<string, number> {
  const counts = new Map<string, number>(spec.groups.map((g) => [g.key, 0]));
  spec.spans.forEach((s, i) => {
    const n = counts.get(s.group);
    if (n === undefined) throw new PlotSpecError(`spans[${i}].group "${s.group}" is not one of ${[...counts.keys()].join(', ')}; add it to spec.groups`);
    counts.set(s.group, n + 1);
  });
  return counts;
}
