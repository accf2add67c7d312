/**
 * A request timeline: one horizontal bar per request from its start to its
 * end, rows in start order, coloured by outcome, with the run's fault events
 * as dashed vertical lines and a legend that counts each outcome.
 */
import { Canvas } from './canvas.ts';
import { OKABE_ITO, type Rgb, THEME } from './colors.ts';
import { PlotSpecError, requireFinite, requireSize } from './errors.ts';
import type { ChartEvent } from './events.ts';
import { type Frame, drawFrame, drawGrid, extent, layoutFrame } from './frame.ts';

export interface TimelineRequest {
  /** Seconds since the run started. */
  readonly start: number;
  readonly end: number;
  /** Key of one of the spec's outcomes. */
  readonly outcome: string;
}

export interface OutcomeStyle {
  readonly key: string;
  /** Legend text; the count of requests is appended. */
  readonly label: string;
  readonly color: Rgb;
}

export interface TimelineSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly requests: readonly TimelineRequest[];
  /**
   * Legend order and colours. The first is the common outcome; bars of the
   * others are drawn over it (in list order) and at least RARE_BAR_MIN in
   * size, so a single failure among hundreds of requests, or a refusal that
   * took no time, still shows. Default: DEFAULT_OUTCOMES.
   */
  readonly outcomes?: readonly OutcomeStyle[];
  readonly events?: readonly ChartEvent[];
  /** Default "seconds since start". */
  readonly xLabel?: string;
  /** Pixels; default 1200×600. */
  readonly width?: number;
  readonly height?: number;
}

/** ok, ok after a retry, refused by admission (429/503), failed. */
export const DEFAULT_OUTCOMES: readonly OutcomeStyle[] = Object.freeze([
  { key: 'ok', label: 'ok', color: OKABE_ITO.blue },
  { key: 'retried', label: 'ok after retry', color: OKABE_ITO.skyBlue },
  { key: 'refused', label: 'refused (429/503)', color: OKABE_ITO.reddishPurple },
  { key: 'failed', label: 'failed', color: OKABE_ITO.vermillion },
]);

/** Least size in pixels of a bar of an outcome after the first (the rare ones). */
export const RARE_BAR_MIN = Object.freeze({ width: 6, height: 4 });

export function renderTimeline(spec: TimelineSpec): Uint8Array {
  const frame = layoutTimeline(spec);
  const canvas = new Canvas(frame.spec.width, frame.spec.height, THEME.background);
  drawGrid(canvas, frame);
  drawBars(canvas, frame, spec.requests, spec.outcomes ?? DEFAULT_OUTCOMES);
  drawFrame(canvas, frame);
  return canvas.toPng();
}

/**
 * Where the timeline puts things. Row i (in start order) spans y from
 * `frame.y(i)` to `frame.y(i + 1)`; a request spans x from `frame.x(start)` to
 * `frame.x(end)`.
 */
export function layoutTimeline(spec: TimelineSpec): Frame {
  const width = spec.width ?? 1200;
  const height = spec.height ?? 600;
  requireSize(width, height);
  const outcomes = spec.outcomes ?? DEFAULT_OUTCOMES;
  const counts = checkRequests(spec.requests, outcomes);
  const events = spec.events ?? [];
  events.forEach((e, i) => requireFinite(e.at, `events[${i}].at`));
  const [first] = extent(spec.requests.map((r) => r.start).concat(events.map((e) => e.at)));
  const [, last] = extent(spec.requests.map((r) => r.end).concat(events.map((e) => e.at)));
  return layoutFrame({
    width,
    height,
    title: spec.title,
    subtitle: spec.subtitle,
    x: { lo: Math.min(0, first), hi: last, label: spec.xLabel ?? 'seconds since start', exact: true },
    y: { lo: 0, hi: spec.requests.length, label: 'requests in start order', integer: true, exact: true },
    yDown: true,
    events,
    legend: outcomes.map((o) => ({ label: `${o.label}: ${counts.get(o.key) ?? 0}`, color: o.color, swatch: 'block' as const })),
  });
}

function drawBars(canvas: Canvas, frame: Frame, requests: readonly TimelineRequest[], outcomes: readonly OutcomeStyle[]): void {
  const order = requests.map((r, i) => ({ r, i })).sort((a, b) => a.r.start - b.r.start || a.i - b.i);
  const rowHeight = frame.y(1) - frame.y(0);
  const gap = rowHeight >= 4 ? 1 : 0;
  outcomes.forEach((outcome, k) => {
    order.forEach(({ r }, row) => {
      if (r.outcome !== outcome.key) return;
      let top = Math.round(frame.y(row));
      let bottom = Math.max(top + 1, Math.round(frame.y(row + 1)) - gap);
      if (k > 0 && bottom - top < RARE_BAR_MIN.height) {
        top = Math.round(frame.y(row + 0.5) - RARE_BAR_MIN.height / 2);
        bottom = top + RARE_BAR_MIN.height;
      }
      const left = Math.round(frame.x(r.start));
      const right = Math.max(left + (k > 0 ? RARE_BAR_MIN.width - 1 : 0), Math.round(frame.x(r.end)));
      canvas.fillRect(left, top, right - left + 1, bottom - top, outcome.color);
    });
  });
}

/** Checks every request and counts them per outcome key. */
function checkRequests(requests: readonly TimelineRequest[], outcomes: readonly OutcomeStyle[]): Map<string, number> {
  if (requests.length === 0) throw new PlotSpecError('timeline needs at least one request in spec.requests');
  const counts = new Map<string, number>(outcomes.map((o) => [o.key, 0]));
  requests.forEach((r, i) => {
    requireFinite(r.start, `requests[${i}].start`);
    requireFinite(r.end, `requests[${i}].end`);
    if (r.end < r.start) throw new PlotSpecError(`requests[${i}] ends (${r.end}) before it starts (${r.start})`);
    const n = counts.get(r.outcome);
    if (n === undefined) {
      throw new PlotSpecError(`requests[${i}].outcome "${r.outcome}" is not one of ${[...counts.keys()].join(', ')}; add it to spec.outcomes`);
    }
    counts.set(r.outcome, n + 1);
  });
  return counts;
}
