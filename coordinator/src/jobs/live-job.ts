/**
 * A job running in this coordinator: its record (as made or last re-queued),
 * its generation, and the job events its watchers get. It follows the
 * generation's events (phase changes and steps) but not its end: the job
 * ends when its owner has stored the end (`finish`), so that a watcher told
 * `completed` can download the video at once. A job whose end is not stored
 * (refused before its record was made, or interrupted by a shutdown to run
 * again after the restart) is `close`d: its watchers' streams end without a
 * last event.
 */
import type { Generation } from '../generation/generation.ts';
import { pushIterator } from '../lifecycle/push-iterator.ts';
import { jobProgress, jobStatusOf, PROGRESS_DECODING } from './progress.ts';
import type { JobRecord } from './record.ts';
import { isFinal, recordEvent, type JobEvent } from './job-events.ts';
import { videoObject, type VideoView } from './video-object.ts';

type Listener = (e: JobEvent | undefined) => void;

export class LiveJob {
  readonly id: string;
  readonly caller: string;
  /** Resolves once admission took the job and its record is stored; rejects with what stopped that. */
  recorded: Promise<void> = Promise.resolve();
  /** Resolves once the job's end is stored (or it was closed) and it holds nothing any more. Never rejects. */
  settled: Promise<void> = Promise.resolve();
  private final: JobEvent | undefined;
  private closed = false;
  private readonly listeners = new Set<Listener>();

  constructor(
    readonly record: JobRecord,
    readonly generation: Generation,
    private readonly view: VideoView,
  ) {
    this.id = record.id;
    this.caller = record.caller;
    generation.subscribe((e) => {
      if (e.type !== 'end') this.emit(this.state(e.type));
    });
  }

  /** Watchers now. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The job now: its last event once it ended, else where its generation is (a `phase` event). */
  current(): JobEvent {
    return this.final ?? this.state('phase');
  }

  private state(type: 'phase' | 'step'): JobEvent {
    const g = this.generation;
    const { phase, step, steps } = g.progress;
    // A generation that has ended but whose end is not stored yet is storing its video (or its failure).
    const ended = g.state === 'completed' || g.state === 'failed' || g.state === 'cancelled';
    const status = ended ? 'in_progress' : jobStatusOf(phase);
    const progress = g.state === 'completed' ? PROGRESS_DECODING : jobProgress(g.progress);
    return { type, video: videoObject(this.record, this.view, { status, progress }), phase, step, steps };
  }

  /** Calls `listener` with the current state at once, then with every event; `undefined` when the job closed without a last event. */
  subscribe(listener: Listener): () => void {
    listener(this.final ?? this.current());
    if (this.final || this.closed) {
      if (!this.final) listener(undefined);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The events as an async iterator: the current state first, ending after the last event, when the job closes, or when `signal` aborts. */
  events(signal: AbortSignal): AsyncIterableIterator<JobEvent> {
    return pushIterator<JobEvent>((push) => this.subscribe(push), isFinal, signal);
  }

  /** Its end is stored as `record` (completed or failed): the last event. */
  finish(record: JobRecord): void {
    if (this.final || this.closed) return;
    this.final = recordEvent(record, this.view);
    this.emit(this.final);
    this.listeners.clear();
  }

  /** It ends without a stored end. */
  close(): void {
    if (this.final || this.closed) return;
    this.closed = true;
    this.emit(undefined);
    this.listeners.clear();
  }

  private emit(e: JobEvent | undefined): void {
    for (const listener of [...this.listeners]) listener(e);
  }
}
