/** Progress on stderr: the texts, and what the view writes on a terminal, in a log, and when quiet. */
import { describe, expect, it } from 'vitest';
import { clampPercent, describePhase, formatElapsed, progressMode, ProgressView, renderBar, renderBarLine, renderPlainLine, type JobProgress } from '../src/progress.ts';

const at = (phase: string, step = 0, steps = 30, progress = 0): JobProgress => ({ phase, step, steps, progress });

class Sink {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {}
  write(t: string): boolean {
    this.text += t;
    return true;
  }
}

describe('progress texts', () => {
  it('names the phase, with the step while denoising', () => {
    expect(describePhase(at('denoising', 12, 30))).toBe('denoising step 12/30');
    expect(describePhase(at('encoding'))).toBe('encoding the prompt');
    expect(describePhase(at('queued'))).toBe('queued');
    expect(describePhase(at('some-new-phase'))).toBe('some-new-phase');
  });

  it('fills a bar in proportion, clamping what is out of range', () => {
    expect(renderBar(0, 10)).toBe('[----------]');
    expect(renderBar(46, 10)).toBe('[#####-----]');
    expect(renderBar(100, 4)).toBe('[####]');
    expect(renderBar(250, 4)).toBe('[####]');
    expect(clampPercent(-3)).toBe(0);
    expect(clampPercent(Number.NaN)).toBe(0);
  });

  it('tells elapsed time in seconds, minutes, hours', () => {
    expect(formatElapsed(7_400)).toBe('7s');
    expect(formatElapsed(65_000)).toBe('1m05s');
    expect(formatElapsed(3_720_000)).toBe('1h02m');
  });

  it("fits the terminal's line to its width: the bar shrinks, then goes, and the last column stays free", () => {
    const p = at('denoising', 12, 30, 37);
    const wide = renderBarLine(p, 5_000, 100);
    expect(wide).toBe(`${'denoising step 12/30'.padEnd(24)}  [${'#'.repeat(11)}${'-'.repeat(19)}]   37%  5s`);
    for (const columns of [100, 60, 45, 30, 12]) expect(renderBarLine(p, 5_000, columns).length).toBeLessThanOrEqual(columns - 1);
    expect(renderBarLine(p, 5_000, 45)).toBe('denoising step 12/30   37%  5s');
  });

  it('writes a plain line with percent and time', () => {
    expect(renderPlainLine(at('decoding', 30, 30, 90), 2_000)).toBe('decoding  90%  (2s)');
  });
});

describe('ProgressView', () => {
  it('bar on a terminal, lines elsewhere, nothing when quiet', () => {
    expect(progressMode(new Sink(true), false)).toBe('bar');
    expect(progressMode(new Sink(false), false)).toBe('lines');
    expect(progressMode(new Sink(true), true)).toBe('off');
  });

  it('writes a line per change of phase or step in a log, not per percent', () => {
    const sink = new Sink(false);
    let now = 0;
    const view = new ProgressView(sink, 'lines', () => now);
    view.update(at('queued'));
    view.update(at('queued'));
    now = 1_000;
    view.update(at('denoising', 1, 2, 45));
    view.update(at('denoising', 1, 2, 46));
    view.note('spool: lost the event stream');
    view.update(at('denoising', 2, 2, 90));
    view.finish();
    expect(sink.text).toBe('queued  0%  (0s)\ndenoising step 1/2  45%  (1s)\nspool: lost the event stream\ndenoising step 2/2  90%  (1s)\n');
  });

  it('redraws one line in place on a terminal, puts notes above it, and clears it when done', () => {
    const sink = new Sink(true, 60);
    const view = new ProgressView(sink, 'bar', () => 0);
    view.update(at('denoising', 1, 2, 45));
    view.note('a note');
    view.finish();
    const line = renderBarLine(at('denoising', 1, 2, 45), 0, 60);
    expect(sink.text).toBe(`\r\x1b[K${line}\r\x1b[Ka note\n\r\x1b[K${line}\r\x1b[K`);
  });

  it('draws an 80-column line on a terminal that reports no width (0 columns)', () => {
    const sink = new Sink(true, 0);
    const view = new ProgressView(sink, 'bar', () => 0);
    view.update(at('denoising', 1, 2, 45));
    expect(sink.text).toBe(`\r\x1b[K${renderBarLine(at('denoising', 1, 2, 45), 0, 80)}`);
    expect(sink.text).toContain('denoising step 1/2');
  });

  it('writes nothing when off', () => {
    const sink = new Sink(true);
    const view = new ProgressView(sink, 'off');
    view.update(at('queued'));
    view.note('x');
    view.finish();
    expect(sink.text).toBe('');
  });
});
