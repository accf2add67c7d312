/**
 * A job's progress on stderr. On a terminal, one line redrawn in place: the
 * phase, the step of the steps while denoising, a bar, the percentage and
 * the time since the wait began. Anywhere else (a log file, a pipe), one
 * plain line per change of phase or step, so that logs stay readable.
 * `--quiet` shows nothing. The text is made by pure functions; the view
 * only decides when to write it.
 */

/** Where a job is, as its events and video object tell. */
export interface JobProgress {
  /** `queued`, `encoding`, `denoising`, `decoding`, `completed` or `failed`. */
  readonly phase: string;
  /** Denoising steps done, of `steps`. */
  readonly step: number;
  readonly steps: number;
  /** Percent done, 0-100, as the server counts it. */
  readonly progress: number;
}

export type ProgressMode = 'bar' | 'lines' | 'off';

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** The terminal's width; 80 when it does not say (a terminal without a size reports 0 columns). */
export function terminalColumns(sink: ProgressSink): number {
  return sink.columns !== undefined && sink.columns > 0 ? sink.columns : 80;
}

/** `bar` on a terminal, `lines` elsewhere, `off` when quiet. */
export function progressMode(sink: ProgressSink, quiet: boolean): ProgressMode {
  if (quiet) return 'off';
  return sink.isTTY ? 'bar' : 'lines';
}

const PHASE_TEXT: Readonly<Record<string, string>> = {
  queued: 'queued',
  encoding: 'encoding the prompt',
  denoising: 'denoising',
  decoding: 'decoding',
  completed: 'completed',
  failed: 'failed',
};

/** `denoising step 12/30`, `queued`, …: what the job is doing. */
export function describePhase(p: JobProgress): string {
  const text = PHASE_TEXT[p.phase] ?? p.phase;
  return p.phase === 'denoising' ? `${text} step ${p.step}/${p.steps}` : text;
}

export const clampPercent = (n: number): number => Math.max(0, Math.min(100, Math.round(Number.isFinite(n) ? n : 0)));

/** A bar of `width` cells, filled in proportion to the percentage. */
export function renderBar(percent: number, width: number): string {
  const w = Math.max(0, Math.floor(width));
  const filled = Math.round((clampPercent(percent) / 100) * w);
  return `[${'#'.repeat(filled)}${'-'.repeat(w - filled)}]`;
}

/** Seconds as `7s`, `1m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** The terminal's line: phase, bar, percentage and time, fitted to `columns` (the bar shrinks, then goes). */
export function renderBarLine(p: JobProgress, elapsedMs: number, columns: number): string {
  const phase = describePhase(p).padEnd(24);
  const tail = `${String(clampPercent(p.progress)).padStart(3)}%  ${formatElapsed(elapsedMs)}`;
  // One column is kept free: writing the last one makes some terminals wrap.
  const room = columns - 1 - phase.length - tail.length - 4;
  const barWidth = Math.min(30, room);
  const line = barWidth >= 10 ? `${phase}  ${renderBar(p.progress, barWidth)}  ${tail}` : `${phase.trimEnd()}  ${tail}`;
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 1)) : line;
}

/** A line of the plain mode: `denoising step 3/30  9%  (2s)`. */
export function renderPlainLine(p: JobProgress, elapsedMs: number): string {
  return `${describePhase(p)}  ${clampPercent(p.progress)}%  (${formatElapsed(elapsedMs)})`;
}

/** Whether two states print differently in the plain mode: another phase, or another step. */
export const changed = (a: JobProgress | undefined, b: JobProgress): boolean => a === undefined || a.phase !== b.phase || a.step !== b.step;

const CLEAR_LINE = '\r\x1b[K';

export class ProgressView {
  private last: JobProgress | undefined;
  private readonly started: number;
  private ticker: NodeJS.Timeout | undefined;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    readonly mode: ProgressMode,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
  }

  update(p: JobProgress): void {
    if (this.mode === 'off') return;
    if (this.mode === 'lines') {
      if (changed(this.last, p)) this.sink.write(`${renderPlainLine(p, this.now() - this.started)}\n`);
      this.last = p;
      return;
    }
    this.last = p;
    this.draw();
    // The time on the line moves while nothing else does (a long queue, a long step).
    this.ticker ??= setInterval(() => this.draw(), 1000).unref();
  }

  /** A message on a line of its own (a lost stream, a reconnection); the bar comes back under it. */
  note(message: string): void {
    if (this.mode === 'off') return;
    this.clear();
    this.sink.write(`${message}\n`);
    if (this.mode === 'bar' && this.last) this.draw();
  }

  /** Takes the bar off the terminal (before the command prints its result), and stops its clock. */
  finish(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    this.clear();
  }

  private clear(): void {
    if (this.mode === 'bar' && this.drawn) this.sink.write(CLEAR_LINE);
    this.drawn = false;
  }

  private draw(): void {
    if (!this.last) return;
    this.sink.write(`${CLEAR_LINE}${renderBarLine(this.last, this.now() - this.started, terminalColumns(this.sink))}`);
    this.drawn = true;
  }
}
