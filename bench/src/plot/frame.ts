/**
 * The frame shared by every chart: title, event band, plot area with grid,
 * axes with ticks and labels, legend. `layoutFrame` computes where everything
 * goes (plain data, also what tests read pixels against); `drawGrid` paints
 * under the data and `drawFrame` over it, so axes, events and labels are
 * never hidden by bars or lines.
 */
import type { Canvas } from './canvas.ts';
import { THEME } from './colors.ts';
import { PlotSpecError } from './errors.ts';
import { type ChartEvent, LANE_HEIGHT, type PlacedEvent, drawEvents, placeEvents } from './events.ts';
import { CAP_HEIGHT, GLYPH_HEIGHT, measureText } from './font.ts';
import { type LegendEntry, type PlacedEntry, drawLegend, legendRows, placeLegend } from './legend.ts';
import { type Ticks, formatTick, niceTicks } from './ticks.ts';

export interface AxisSpec {
  /** Data range the axis must cover. */
  readonly lo: number;
  readonly hi: number;
  readonly label?: string;
  /** Ticks on whole numbers only (request counts). */
  readonly integer?: boolean;
  /** Span exactly lo..hi instead of widening to whole ticks. */
  readonly exact?: boolean;
}

export interface FrameSpec {
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly subtitle?: string;
  readonly x: AxisSpec;
  readonly y: AxisSpec;
  /** y grows downwards (rows in order) instead of upwards. */
  readonly yDown?: boolean;
  readonly events: readonly ChartEvent[];
  readonly legend: readonly LegendEntry[];
  /**
   * Pixels kept free left of the plot for row labels the chart draws itself
   * (a waterfall's span names), from `gutterLeft`. The y axis then has no
   * tick labels, tick marks or grid lines: its rows are labelled instead.
   */
  readonly gutter?: number;
}

/** Plot area in pixel indices, edges included; the axes sit just outside it. */
export interface PlotArea {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

export interface Frame {
  readonly spec: FrameSpec;
  readonly plot: PlotArea;
  readonly xTicks: Ticks;
  readonly yTicks: Ticks;
  /** Data range each axis spans. */
  readonly xDomain: readonly [number, number];
  readonly yDomain: readonly [number, number];
  /** Data to pixel position (fractional; round for a pixel index). */
  readonly x: (v: number) => number;
  readonly y: (v: number) => number;
  readonly events: readonly PlacedEvent[];
  readonly legend: readonly PlacedEntry[];
  /** Where the gutter for row labels starts (with `spec.gutter`); it ends at `plot.left`. */
  readonly gutterLeft: number;
}

const MARGIN = 16;
const TEXT = 2;
const TITLE = 3;
const TEXT_HEIGHT = GLYPH_HEIGHT * TEXT;
const TICK_LENGTH = 5;
const TICK_GAP = 5;

export function layoutFrame(spec: FrameSpec): Frame {
  const { width, height } = spec;
  // Top: title, subtitle, then the event band (its height is known only once x is).
  let top = MARGIN + GLYPH_HEIGHT * TITLE + 12;
  if (spec.subtitle) top += TEXT_HEIGHT + 6;
  // Bottom: legend, x axis label, x tick labels.
  const legend = legendRows(spec.legend, width - 2 * MARGIN);
  const legendTop = height - MARGIN - legend.height;
  let bottom = legendTop - (legend.height > 0 ? 16 : 0);
  if (spec.x.label) bottom -= TEXT_HEIGHT + 8;
  bottom -= 1 + TICK_LENGTH + TICK_GAP + TEXT_HEIGHT;

  // y ticks from the height left before events claim their lanes; lanes only move the top edge.
  const yTicks = ticksFor(spec.y, (bottom - top) / 55, 10);
  const yLabels = yTicks.values.map((v) => formatTick(v, yTicks));
  const [, yLabelWidth] = extent(yLabels.map((s) => measureText(s, TEXT).width));
  const gutterLeft = MARGIN + (spec.y.label ? TEXT_HEIGHT + 12 : 0);
  const left = gutterLeft + (spec.gutter === undefined ? yLabelWidth + TICK_GAP + TICK_LENGTH + 2 : spec.gutter);
  const xTicksGuess = ticksFor(spec.x, (width - left - MARGIN) / 110, 12);
  const lastXLabel = measureText(formatTick(xTicksGuess.max, xTicksGuess), TEXT).width;
  const right = width - MARGIN - Math.ceil(lastXLabel / 2);
  const xTicks = ticksFor(spec.x, (right - left) / 110, 12);
  const xDomain = domain(spec.x, xTicks);
  const x = (v: number): number => left + ((v - xDomain[0]) / (xDomain[1] - xDomain[0])) * (right - left);

  const bandBottom = (lanes: number): number => top + lanes * LANE_HEIGHT;
  const { lanes } = placeEvents(spec.events, x, { left: MARGIN, right: width - MARGIN, bandBottom: 0 });
  const { placed: events } = placeEvents(spec.events, x, { left: MARGIN, right: width - MARGIN, bandBottom: bandBottom(lanes) });
  const plot: PlotArea = { left, top: bandBottom(lanes) + 6, right, bottom };
  if (plot.bottom - plot.top < 60 || plot.right - plot.left < 100) {
    throw new PlotSpecError(
      `a ${width}x${height} chart leaves only ${plot.right - plot.left}x${plot.bottom - plot.top} px to plot in after its title, ` +
        `${lanes} lane(s) of event labels and ${legend.rows.length} legend row(s); make it larger or the labels shorter`,
    );
  }
  const yDomain = domain(spec.y, yTicks);
  const ySpan = yDomain[1] - yDomain[0];
  const y = spec.yDown
    ? (v: number): number => plot.top + ((v - yDomain[0]) / ySpan) * (plot.bottom + 1 - plot.top)
    : (v: number): number => plot.bottom - ((v - yDomain[0]) / ySpan) * (plot.bottom - plot.top);
  const placedLegend = placeLegend(legend.rows, width / 2, legendTop);
  return { spec, plot, xTicks, yTicks, xDomain, yDomain, x, y, events, legend: placedLegend, gutterLeft };
}

/** Light grid lines at the ticks, painted before the data. */
export function drawGrid(canvas: Canvas, frame: Frame): void {
  const { plot } = frame;
  for (const v of visible(frame.xTicks, frame.xDomain)) canvas.line(Math.round(frame.x(v)), plot.top, Math.round(frame.x(v)), plot.bottom, THEME.grid);
  if (frame.spec.gutter !== undefined) return;
  for (const v of visible(frame.yTicks, frame.yDomain)) canvas.line(plot.left, Math.round(frame.y(v)), plot.right, Math.round(frame.y(v)), THEME.grid);
}

/** Axes, ticks, axis labels, event markers, title and legend, painted over the data. */
export function drawFrame(canvas: Canvas, frame: Frame): void {
  const { plot, spec } = frame;
  canvas.line(plot.left - 1, plot.top, plot.left - 1, plot.bottom + 1, THEME.axis);
  canvas.line(plot.left - 1, plot.bottom + 1, plot.right, plot.bottom + 1, THEME.axis);
  const capMiddle = Math.floor((CAP_HEIGHT * TEXT) / 2);
  for (const v of visible(frame.xTicks, frame.xDomain)) {
    const px = Math.round(frame.x(v));
    canvas.line(px, plot.bottom + 2, px, plot.bottom + 1 + TICK_LENGTH, THEME.axis);
    canvas.text(formatTick(v, frame.xTicks), px, plot.bottom + 1 + TICK_LENGTH + TICK_GAP, THEME.text, { scale: TEXT, align: 'center' });
  }
  for (const v of spec.gutter === undefined ? visible(frame.yTicks, frame.yDomain) : []) {
    const py = Math.round(frame.y(v));
    canvas.line(plot.left - 1 - TICK_LENGTH, py, plot.left - 2, py, THEME.axis);
    canvas.text(formatTick(v, frame.yTicks), plot.left - 2 - TICK_LENGTH - TICK_GAP, py - capMiddle, THEME.text, { scale: TEXT, align: 'right' });
  }
  if (spec.x.label) {
    const labelTop = plot.bottom + 1 + TICK_LENGTH + TICK_GAP + TEXT_HEIGHT + 8;
    canvas.text(spec.x.label, (plot.left + plot.right) / 2, labelTop, THEME.mutedText, { scale: TEXT, align: 'center' });
  }
  if (spec.y.label) canvas.text(spec.y.label, MARGIN, (plot.top + plot.bottom) / 2, THEME.mutedText, { scale: TEXT, align: 'center', rotate: true });
  drawEvents(canvas, frame.events, plot.bottom);
  canvas.text(spec.title, spec.width / 2, MARGIN, THEME.text, { scale: TITLE, align: 'center' });
  if (spec.subtitle) canvas.text(spec.subtitle, spec.width / 2, MARGIN + GLYPH_HEIGHT * TITLE + 6, THEME.mutedText, { scale: TEXT, align: 'center' });
  drawLegend(canvas, frame.legend);
}

/** Smallest and largest of `values` (a loop: spreading a long run's samples into Math.min would overflow the stack). */
export function extent(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function ticksFor(axis: AxisSpec, room: number, most: number): Ticks {
  let target = Math.max(2, Math.min(most, Math.floor(room)));
  if (axis.integer) target = Math.min(target, Math.max(1, Math.ceil(axis.hi - axis.lo)));
  return niceTicks(axis.lo, axis.hi, target);
}

function domain(axis: AxisSpec, ticks: Ticks): [number, number] {
  if (axis.exact && axis.hi > axis.lo) return [axis.lo, axis.hi];
  return [ticks.min, ticks.max];
}

function visible(ticks: Ticks, [lo, hi]: readonly [number, number]): number[] {
  const eps = (hi - lo) * 1e-9;
  return ticks.values.filter((v) => v >= lo - eps && v <= hi + eps);
}
