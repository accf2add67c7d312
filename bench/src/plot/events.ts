/**
 * Event markers: a dashed vertical line through the plot at each event's time
 * and its label in a band above the plot. Labels that would collide move up
 * into further lanes of the band, so close events stay readable; each line
 * reaches up to its own label.
 */
import type { Box, Canvas } from './canvas.ts';
import type { Rgb } from './colors.ts';
import { THEME } from './colors.ts';
import { CAP_HEIGHT, measureText } from './font.ts';

export interface ChartEvent {
  /** When it happened, in the x axis's unit (seconds since the run started). */
  readonly at: number;
  /** Short text such as "kill -9 denoise.0"; printable ASCII. */
  readonly label: string;
  /** Line and label colour; default dark grey. */
  readonly color?: Rgb;
}

export interface PlacedEvent {
  readonly event: ChartEvent;
  /** Column of the dashed line. */
  readonly x: number;
  readonly color: Rgb;
  /** 0 is the lane next to the plot. */
  readonly lane: number;
  readonly label: Box;
  /** Row where the dashed line starts (the middle of its label). */
  readonly lineTop: number;
}

export const EVENT_TEXT_SCALE = 2;
/** Height of one lane of labels. */
export const LANE_HEIGHT = 24;
const MAX_LANES = 6;
const LABEL_OFFSET = 8;
const LABEL_GAP = 12;
const HALO = 2;

interface Lane {
  readonly spans: Array<[number, number]>;
}

/**
 * Puts each label right of its line (left of it when it would leave the
 * canvas) in the first lane where it overlaps no other label. Returns the
 * placements with `bandBottom` as the band's lower edge, and the lanes used.
 */
export function placeEvents(
  events: readonly ChartEvent[],
  toX: (at: number) => number,
  bounds: { left: number; right: number; bandBottom: number },
): { placed: PlacedEvent[]; lanes: number } {
  const lanes: Lane[] = [];
  const placed: PlacedEvent[] = [];
  const order = events.map((event, i) => ({ event, i, x: Math.round(toX(event.at)) })).sort((a, b) => a.x - b.x || a.i - b.i);
  for (const { event, x } of order) {
    const { width, height } = measureText(event.label, EVENT_TEXT_SCALE);
    let left = x + LABEL_OFFSET;
    if (left + width > bounds.right) left = Math.max(bounds.left, x - LABEL_OFFSET - width);
    const span: [number, number] = [left - LABEL_GAP, left + width + LABEL_GAP];
    const free = (lane: Lane): boolean => lane.spans.every(([a, b]) => span[1] <= a || span[0] >= b);
    let lane = lanes.findIndex(free);
    if (lane < 0 && lanes.length < MAX_LANES) lane = lanes.push({ spans: [] }) - 1;
    if (lane < 0) lane = leastCrowded(lanes);
    lanes[lane].spans.push(span);
    const top = bounds.bandBottom - (lane + 1) * LANE_HEIGHT + Math.floor((LANE_HEIGHT - height) / 2);
    placed.push({
      event,
      x,
      color: event.color ?? THEME.event,
      lane,
      label: { x: left, y: top, width, height },
      lineTop: top + Math.floor((CAP_HEIGHT * EVENT_TEXT_SCALE) / 2),
    });
  }
  return { placed, lanes: lanes.length };
}

/** Dashed lines from each label down to `plotBottom`, then the labels on a halo of background. */
export function drawEvents(canvas: Canvas, placed: readonly PlacedEvent[], plotBottom: number): void {
  for (const p of placed) canvas.dashedVLine(p.x, p.lineTop, plotBottom, p.color, { dash: 7, gap: 5, thickness: 2 });
  for (const p of placed) {
    const { x, y, width, height } = p.label;
    canvas.fillRect(x - HALO, y - HALO, width + 2 * HALO, height + 2 * HALO, THEME.background);
    canvas.text(p.event.label, x, y, p.color, { scale: EVENT_TEXT_SCALE });
  }
}

function leastCrowded(lanes: readonly Lane[]): number {
  let best = 0;
  for (let i = 1; i < lanes.length; i++) if (lanes[i].spans.length < lanes[best].spans.length) best = i;
  return best;
}
