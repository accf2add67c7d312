/**
 * The worker's explicit state: init → loading → warming → serving →
 * draining → stopped, or failed from anywhere before stopped. Illegal moves
 * throw, so a bug in the loop shows up instead of a half-stopped worker.
 */

export type WorkerState = 'init' | 'loading' | 'warming' | 'serving' | 'draining' | 'stopped' | 'failed';

const NEXT: Readonly<Record<WorkerState, readonly WorkerState[]>> = {
  init: ['loading', 'stopped', 'failed'],
  loading: ['warming', 'stopped', 'failed'],
  warming: ['serving', 'stopped', 'failed'],
  serving: ['draining', 'failed'],
  draining: ['stopped', 'failed'],
  stopped: [],
  failed: [],
};

export class WorkerStateMachine {
  private current: WorkerState = 'init';
  private readonly since = new Map<WorkerState, number>([['init', Date.now()]]);

  constructor(private readonly onChange: (from: WorkerState, to: WorkerState) => void = () => undefined) {}

  get state(): WorkerState {
    return this.current;
  }

  /** Milliseconds spent since entering `state` (or since start). */
  elapsedSince(state: WorkerState): number {
    return Date.now() - (this.since.get(state) ?? Date.now());
  }

  canMove(to: WorkerState): boolean {
    return NEXT[this.current].includes(to);
  }

  to(next: WorkerState): void {
    if (!this.canMove(next)) throw new Error(`worker cannot go from ${this.current} to ${next}`);
    const from = this.current;
    this.current = next;
    this.since.set(next, Date.now());
    this.onChange(from, next);
  }

  isFinal(): boolean {
    return this.current === 'stopped' || this.current === 'failed';
  }
}
