/**
 * Charts for bench results, drawn without a charting library: a PNG encoder,
 * a raster canvas with a built-in bitmap font, and three charts (a request
 * timeline with fault events, a line chart of series over time, a trace
 * waterfall of spans).
 */
export { renderTimeline, layoutTimeline, DEFAULT_OUTCOMES } from './timeline.ts';
export type { TimelineSpec, TimelineRequest, OutcomeStyle } from './timeline.ts';
export { renderLineChart, layoutLineChart } from './line-chart.ts';
export type { LineChartSpec, Series } from './line-chart.ts';
export { renderWaterfall, layoutWaterfall, MIN_BAR, onColor, ROW_BAND } from './waterfall.ts';
export type { PlacedSpan, WaterfallGroup, WaterfallLayout, WaterfallSpan, WaterfallSpec } from './waterfall.ts';
export type { ChartEvent } from './events.ts';
export type { Frame, PlotArea } from './frame.ts';
export { PlotSpecError } from './errors.ts';
export { OKABE_ITO, SERIES_COLORS, THEME, hex } from './colors.ts';
export type { Rgb } from './colors.ts';
export { Canvas } from './canvas.ts';
export type { Align, Box, MarkerShape, TextOptions } from './canvas.ts';
export { measureText } from './font.ts';
export { niceTicks, formatTick } from './ticks.ts';
export type { Ticks } from './ticks.ts';
export { encodePng, crc32 } from './png.ts';
export type { Raster } from './png.ts';
