/**
 * A line chart: named series of (x, y) points (RSS in MB over seconds, one
 * series per process), nice ticks on both axes, a legend and optional event
 * markers. Series alternate circle and square markers as well as colours, so
 * they stay apart in grey print and for colour-blind readers.
 */
import { Canvas, type MarkerShape } from './canvas.ts';
import { type Rgb, SERIES_COLORS, THEME } from './colors.ts';
import { PlotSpecError, requireFinite, requireSize } from './errors.ts';
import type { ChartEvent } from './events.ts';
import { type Frame, drawFrame, drawGrid, extent, layoutFrame } from './frame.ts';

export interface Series {
  readonly name: string;
  /** (x, y) pairs in x order. */
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Default: the next of SERIES_COLORS. */
  readonly color?: Rgb;
}

export interface LineChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly series: readonly Series[];
  readonly events?: readonly ChartEvent[];
  readonly xLabel?: string;
  readonly yLabel?: string;
  /** Values the y axis must include besides the data, e.g. yMin 0 to show the axis from zero. */
  readonly yMin?: number;
  readonly yMax?: number;
  /** Markers on the data points; default when no series has more than 60 points. */
  readonly markers?: boolean;
  /** Pixels; default 1200×600. */
  readonly width?: number;
  readonly height?: number;
}

const LINE_WIDTH = 2.5;
const MARKER_SIZE = 8;
const MARKER_LIMIT = 60;

export function renderLineChart(spec: LineChartSpec): Uint8Array {
  const frame = layoutLineChart(spec);
  const canvas = new Canvas(frame.spec.width, frame.spec.height, THEME.background);
  drawGrid(canvas, frame);
  const markers = spec.markers ?? spec.series.every((s) => s.points.length <= MARKER_LIMIT);
  spec.series.forEach((s, i) => {
    const color = seriesColor(s, i);
    const pixels = s.points.map(([x, y]) => [frame.x(x), frame.y(y)] as const);
    canvas.polyline(pixels, color, LINE_WIDTH);
    if (markers) for (const [px, py] of pixels) canvas.marker(px, py, seriesMarker(i), MARKER_SIZE, color);
  });
  drawFrame(canvas, frame);
  return canvas.toPng();
}

/** Where the chart puts things: a point (x, y) lands on pixel (frame.x(x), frame.y(y)). */
export function layoutLineChart(spec: LineChartSpec): Frame {
  const width = spec.width ?? 1200;
  const height = spec.height ?? 600;
  requireSize(width, height);
  if (spec.series.length === 0) throw new PlotSpecError('line chart needs at least one series in spec.series');
  const xs: number[] = [];
  const ys: number[] = [];
  spec.series.forEach((s, i) => {
    if (typeof s.name !== 'string' || s.name.length === 0) throw new PlotSpecError(`series[${i}].name must be a non-empty string`);
    s.points.forEach(([x, y], j) => {
      xs.push(requireFinite(x, `series[${i}] (${s.name}) points[${j}] x`));
      ys.push(requireFinite(y, `series[${i}] (${s.name}) points[${j}] y`));
    });
  });
  if (xs.length === 0) throw new PlotSpecError('line chart needs at least one point in its series');
  const events = spec.events ?? [];
  events.forEach((e, i) => xs.push(requireFinite(e.at, `events[${i}].at`)));
  if (spec.yMin !== undefined) ys.push(requireFinite(spec.yMin, 'yMin'));
  if (spec.yMax !== undefined) ys.push(requireFinite(spec.yMax, 'yMax'));
  const [xLo, xHi] = extent(xs);
  const [yLo, yHi] = extent(ys);
  return layoutFrame({
    width,
    height,
    title: spec.title,
    subtitle: spec.subtitle,
    x: { lo: xLo, hi: xHi, label: spec.xLabel, exact: true },
    y: { lo: yLo, hi: yHi, label: spec.yLabel },
    events,
    legend: spec.series.map((s, i) => ({
      label: s.name,
      color: seriesColor(s, i),
      swatch: seriesMarker(i) === 'circle' ? ('line-circle' as const) : ('line-square' as const),
    })),
  });
}

function seriesColor(s: Series, i: number): Rgb {
  return s.color ?? SERIES_COLORS[i % SERIES_COLORS.length];
}

function seriesMarker(i: number): MarkerShape {
  return i % 2 === 0 ? 'circle' : 'square';
}
