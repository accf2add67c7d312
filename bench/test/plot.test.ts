/**
 * The charts, checked from the outside: each PNG is read back by ffprobe and
 * decoded by ffmpeg, and the tests assert on the pixels that come out (bar
 * colours, event columns, points on lines, legend swatches) and on the layout
 * (labels inside the canvas and apart from each other).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_OUTCOMES,
  PlotSpecError,
  SERIES_COLORS,
  THEME,
  formatTick,
  hex,
  layoutLineChart,
  layoutTimeline,
  measureText,
  renderLineChart,
  renderTimeline,
  type Box,
  type Frame,
  type Rgb,
  type TimelineRequest,
  type TimelineSpec,
} from '../src/plot/index.ts';
import { Decoded, probePng } from './helpers/png-facts.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'spool-plot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function written(name: string, png: Uint8Array, width: number, height: number): Promise<Decoded> {
  const file = path.join(dir, name);
  writeFileSync(file, png);
  const facts = await probePng(file);
  expect(facts).toMatchObject({ codec: 'png', width, height });
  return Decoded.from(file, width, height);
}

const disjoint = (a: Box, b: Box): boolean => a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
const inside = (b: Box, width: number, height: number): boolean => b.x >= 0 && b.y >= 0 && b.x + b.width <= width && b.y + b.height <= height;

describe('renderTimeline', () => {
  const purple = hex('#7b3294');
  const spec: TimelineSpec = {
    title: 'chaos run',
    width: 1000,
    height: 500,
    requests: [
      { start: 0.5, end: 4, outcome: 'ok' },
      { start: 1, end: 6, outcome: 'retried' },
      { start: 2, end: 2.5, outcome: 'refused' },
      { start: 3, end: 9, outcome: 'failed' },
      { start: 5, end: 8, outcome: 'ok' },
      { start: 0.2, end: 3, outcome: 'ok' }, // starts first: row 0
    ],
    events: [
      { at: 7, label: 'kill -9 denoise.0', color: purple },
      { at: 4.5, label: 'nats-server restart' },
    ],
  };
  const colorOf = (outcome: string): Rgb => DEFAULT_OUTCOMES.find((o) => o.key === outcome)!.color;

  it('colours each request by outcome in start order, and nothing else', async () => {
    const frame = layoutTimeline(spec);
    const img = await written('timeline-small.png', renderTimeline(spec), 1000, 500);
    const rows = [...spec.requests].sort((a, b) => a.start - b.start);
    rows.forEach((r, i) => {
      const y = Math.round(frame.y(i + 0.5));
      expect(img.rgb(Math.round(frame.x((r.start + r.end) / 2)), y), `row ${i} (${r.outcome})`).toEqual(colorOf(r.outcome));
      expect(img.is(Math.round(frame.x(r.start)) - 3, y, colorOf(r.outcome)), `row ${i} before its start`).toBe(false);
      expect(img.is(Math.round(frame.x(r.end)) + 3, y, colorOf(r.outcome)), `row ${i} after its end`).toBe(false);
    });
    expect(img.rgb(3, 3)).toEqual(THEME.background);
    expect(img.rgb(Math.round(frame.x(8.5)), Math.round(frame.y(0.5)))).toEqual(THEME.background); // row 0 ended at 3 s
    expect(img.rgb(frame.plot.left - 1, Math.round((frame.plot.top + frame.plot.bottom) / 2))).toEqual(THEME.axis);
    expect(frame.x(0)).toBe(frame.plot.left);
    expect(frame.xDomain).toEqual([0, 9]);
  });

  it('draws each event as a dashed line in its colour with its label above the plot', async () => {
    const frame = layoutTimeline(spec);
    const img = await written('timeline-events.png', renderTimeline(spec), 1000, 500);
    const span = frame.plot.bottom - frame.plot.top + 1;
    for (const [at, color] of [[7, purple], [4.5, THEME.event]] as const) {
      const x = Math.round(frame.x(at));
      const n = img.countInColumn(x, frame.plot.top, frame.plot.bottom, color);
      expect(n, `event at ${at}`).toBeGreaterThan(0.45 * span);
      expect(n, `event at ${at} is dashed`).toBeLessThan(0.75 * span);
      const placed = frame.events.find((e) => e.event.at === at)!;
      expect(placed.label.y + placed.label.height).toBeLessThan(frame.plot.top);
      let labelInk = 0;
      for (let y = placed.label.y; y < placed.label.y + placed.label.height; y++) {
        for (let lx = placed.label.x; lx < placed.label.x + placed.label.width; lx++) if (img.is(lx, y, color)) labelInk++;
      }
      expect(labelInk).toBeGreaterThan(20);
    }
  });

  it('counts outcomes in the legend next to swatches of their colours', async () => {
    const frame = layoutTimeline(spec);
    const img = await written('timeline-legend.png', renderTimeline(spec), 1000, 500);
    expect(frame.legend.map((e) => e.entry.label)).toEqual(['ok: 3', 'ok after retry: 1', 'refused (429/503): 1', 'failed: 1']);
    for (const { entry, swatch } of frame.legend) {
      expect(img.rgb(swatch.x + swatch.width / 2, swatch.y + swatch.height / 2)).toEqual(entry.color);
      expect(swatch.y).toBeGreaterThan(frame.plot.bottom);
    }
  });

  it('keeps a lone failure among 300 requests visible and labels apart', async () => {
    const requests: TimelineRequest[] = Array.from({ length: 300 }, (_, i) => ({ start: i * 0.2, end: i * 0.2 + 1.5, outcome: i === 150 ? 'failed' : i === 200 ? 'refused' : 'ok' }));
    requests[200] = { ...requests[200], end: requests[200].start }; // refused at once
    const events = [20, 20.4, 21, 36, 55, 61].map((at, i) => ({ at, label: ['kill -9 denoise.0', 'denoise.0 back', 'kill -9 vae-decoder', 'nats-server restart', 'SIGTERM', 'end of load'][i] }));
    const big: TimelineSpec = { title: 'chaos: 300 requests', subtitle: 'steady load, faults injected', requests, events };
    const frame = layoutTimeline(big);
    const img = await written('timeline-300.png', renderTimeline(big), 1200, 600);
    expect(img.rgb(Math.round(frame.x(requests[150].start + 0.75)), Math.round(frame.y(150.5)))).toEqual(colorOf('failed'));
    expect(img.rgb(Math.round(frame.x(requests[200].start)) + 2, Math.round(frame.y(200.5)))).toEqual(colorOf('refused'));
    const labels = [...frame.events.map((e) => e.label), ...frame.legend.flatMap((e) => [e.swatch, e.text])];
    labels.forEach((a, i) => {
      expect(inside(a, 1200, 600), `label ${i} inside the canvas`).toBe(true);
      labels.slice(i + 1).forEach((b, j) => expect(disjoint(a, b), `labels ${i} and ${i + 1 + j} overlap`).toBe(true));
    });
    expectTickLabelsApart(frame);
  });

  it('rejects specs it cannot draw, saying what to fix', () => {
    const ok = spec.requests[0];
    expect(() => renderTimeline({ ...spec, requests: [] })).toThrow(PlotSpecError);
    expect(() => renderTimeline({ ...spec, requests: [{ ...ok, outcome: 'timeout' }] })).toThrow(/"timeout" is not one of ok, retried, refused, failed; add it to spec.outcomes/);
    expect(() => renderTimeline({ ...spec, requests: [{ ...ok, end: 0 }] })).toThrow(/requests\[0\] ends \(0\) before it starts \(0.5\)/);
    expect(() => renderTimeline({ ...spec, requests: [{ ...ok, start: Number.NaN }] })).toThrow(/requests\[0\].start must be a finite number/);
    expect(() => renderTimeline({ ...spec, width: 100 })).toThrow(/chart size/);
    const crowded = Array.from({ length: 8 }, (_, i) => ({ at: 5, label: `event ${i} at the same moment` }));
    expect(() => renderTimeline({ ...spec, height: 300, events: crowded })).toThrow(/leaves only .* to plot in .* 6 lane\(s\) of event labels .*make it larger/);
  });
});

describe('renderLineChart', () => {
  const series = [
    { name: 'coordinator', points: [[0, 10], [10, 30], [20, 20]] as const },
    { name: 'denoise.0', points: [[0, 2], [20, 24]] as const },
  ];
  const spec = { title: 'RSS', xLabel: 'seconds', yLabel: 'MB', series, yMin: 0, yMax: 40, events: [{ at: 15, label: 'SIGTERM' }], width: 900, height: 450 };

  it('passes each series through its points in its colour, with markers', async () => {
    const frame = layoutLineChart(spec);
    const img = await written('line.png', renderLineChart(spec), 900, 450);
    series.forEach((s, i) => {
      for (const [x, y] of s.points) expect(img.rgb(Math.round(frame.x(x)), Math.round(frame.y(y))), `${s.name} at ${x},${y}`).toEqual(SERIES_COLORS[i]);
    });
    expect(img.rgb(Math.round(frame.x(5)), Math.round(frame.y(20)))).toEqual(SERIES_COLORS[0]); // halfway along the first segment
    expect(img.rgb(Math.round(frame.x(10)), Math.round(frame.y(30)) - 3)).toEqual(SERIES_COLORS[0]); // the marker above the peak
    expect(img.rgb(Math.round(frame.x(12)), Math.round(frame.y(38)))).toEqual(THEME.background);
    const x = Math.round(frame.x(15));
    expect(img.countInColumn(x, frame.plot.top, frame.plot.bottom, THEME.event)).toBeGreaterThan(0.45 * (frame.plot.bottom - frame.plot.top));
    expect(frame.yTicks.values).toEqual([0, 10, 20, 30, 40]);
    expect(frame.legend.map((e) => [e.entry.label, e.entry.swatch])).toEqual([['coordinator', 'line-circle'], ['denoise.0', 'line-square']]);
  });

  it('leaves markers off on request', async () => {
    const frame = layoutLineChart(spec);
    const img = await written('line-plain.png', renderLineChart({ ...spec, markers: false }), 900, 450);
    expect(img.rgb(Math.round(frame.x(10)), Math.round(frame.y(30)))).toEqual(SERIES_COLORS[0]);
    expect(img.is(Math.round(frame.x(10)), Math.round(frame.y(30)) - 3, SERIES_COLORS[0])).toBe(false);
  });

  it('lays out five long-running series with events without overlapping labels', async () => {
    const names = ['coordinator', 'text-encoder', 'denoise.0 (pid 48121)', 'denoise.1 (pid 48122)', 'vae-decoder'];
    const many = names.map((name, k) => ({ name, points: Array.from({ length: 400 }, (_, j) => [j * 0.75, 90 + 30 * k + 8 * Math.sin(j / 9 + k)] as const) }));
    const soak = { title: 'soak: RSS per process', xLabel: 'seconds since start', yLabel: 'RSS (MB)', series: many, events: [{ at: 100, label: 'kill -9 denoise.0' }, { at: 101, label: 'restarted' }] };
    const frame = layoutLineChart(soak);
    const img = await written('line-soak.png', renderLineChart(soak), 1200, 600);
    const last = many[4].points[399];
    expect(img.rgb(Math.round(frame.x(last[0])), Math.round(frame.y(last[1])))).toEqual(SERIES_COLORS[4]);
    const labels = [...frame.events.map((e) => e.label), ...frame.legend.flatMap((e) => [e.swatch, e.text])];
    labels.forEach((a, i) => {
      expect(inside(a, 1200, 600), `label ${i} inside the canvas`).toBe(true);
      labels.slice(i + 1).forEach((b, j) => expect(disjoint(a, b), `labels ${i} and ${i + 1 + j} overlap`).toBe(true));
    });
    expectTickLabelsApart(frame);
  });

  it('rejects specs it cannot draw, saying what to fix', () => {
    expect(() => renderLineChart({ ...spec, series: [] })).toThrow(/at least one series/);
    expect(() => renderLineChart({ ...spec, series: [{ name: 'a', points: [[0, Number.POSITIVE_INFINITY]] }] })).toThrow(/series\[0\] \(a\) points\[0\] y must be a finite number/);
    expect(() => renderLineChart({ ...spec, series: [{ name: '', points: [[0, 1]] }] })).toThrow(/series\[0\].name/);
  });
});

/** Neighbouring tick labels on each axis leave room between them. */
function expectTickLabelsApart(frame: Frame): void {
  const xs = frame.xTicks.values.filter((v) => v >= frame.xDomain[0] && v <= frame.xDomain[1]);
  xs.slice(1).forEach((v, i) => {
    const room = frame.x(v) - frame.x(xs[i]);
    const need = (measureText(formatTick(v, frame.xTicks), 2).width + measureText(formatTick(xs[i], frame.xTicks), 2).width) / 2 + 8;
    expect(room, `x ticks ${xs[i]} and ${v}`).toBeGreaterThan(need);
  });
  const ys = frame.yTicks.values.filter((v) => v >= frame.yDomain[0] && v <= frame.yDomain[1]);
  ys.slice(1).forEach((v, i) => expect(Math.abs(frame.y(v) - frame.y(ys[i])), `y ticks ${ys[i]} and ${v}`).toBeGreaterThan(measureText('0', 2).height + 6));
}
