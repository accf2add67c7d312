/**
 * Writes a running job's status and progress to its record without flooding
 * JetStream: a phase change (queued → in_progress, each new phase) is
 * written at once, steps at most once every `intervalMs` (the latest state
 * wins; the ones between are never written), and one write at a time, so
 * they land in order. Nothing is written before `start()` (the record is
 * made only once admission took the job), and `close()` waits for the last
 * write, after which the job's end is written by its owner. A failed write
 * is reported and the next one tries again: progress is advisory, the end is
 * what must land.
 */
import type { JobStatus } from './record.ts';

export interface RunningState {
  readonly status: Extract<JobStatus, 'queued' | 'in_progress'>;
  readonly progress: number;
}

export interface RecordWriterOptions {
  /** Writes one state (compare-and-set on the stored record). */
  readonly write: (state: RunningState) => Promise<unknown>;
  /** Least time between two writes of steps, ms. */
  readonly intervalMs: number;
  readonly onError: (err: unknown) => void;
  readonly now?: () => number;
}

export class RecordWriter {
  private latest: RunningState | undefined;
  private written: RunningState | undefined;
  private urgent = false;
  private started = false;
  private closed = false;
  private lastWriteAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: RecordWriterOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  /** The job is now in `state`; `urgent` (a phase change) writes it without waiting for the interval. */
  set(state: RunningState, urgent: boolean): void {
    if (this.closed) return;
    this.latest = state;
    this.urgent ||= urgent;
    this.schedule();
  }

  /** Starts writing: the record exists now. */
  start(initial: RunningState): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.written = initial;
    this.schedule();
  }

  /** Stops writing and waits for a write under way. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  private schedule(): void {
    if (!this.started || this.closed || this.writing || !this.latest) return;
    if (same(this.latest, this.written)) {
      // Nothing new to write: a phase change that came back to the written state is no longer urgent.
      this.urgent = false;
      return;
    }
    const wait = this.urgent ? 0 : this.lastWriteAt + this.opts.intervalMs - this.now();
    if (wait <= 0) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, wait);
      this.timer.unref();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const state = this.latest!;
    this.urgent = false;
    this.lastWriteAt = this.now();
    this.writing = this.opts
      .write(state)
      .then(
        () => {
          this.written = state;
        },
        (err: unknown) => this.opts.onError(err),
      )
      .finally(() => {
        this.writing = undefined;
        this.schedule();
      });
  }
}

function same(a: RunningState, b: RunningState | undefined): boolean {
  return b !== undefined && a.status === b.status && a.progress === b.progress;
}
