/**
 * The requests the coordinator holds now, queued or running, for GET /requests.
 * No prompts are kept: they may be private. Each entry knows its caller (the
 * token it came with), and a caller lists only its own. Entries are in arrival
 * order, and admission is first come first served, so a queued entry's
 * position is its place among all the queued entries, every caller's.
 */

export type RequestState = 'queued' | 'encoding' | 'denoising' | 'decoding';

export interface RequestSummary {
  readonly id: string;
  readonly state: RequestState;
  /** Denoising steps done. */
  readonly step: number;
  readonly steps: number;
  readonly num_frames: number;
  /** Since the request arrived, queueing included. */
  readonly elapsed_ms: number;
  /** 1 = next to start; only while queued. */
  readonly queue_position?: number;
}

interface Entry {
  state: RequestState;
  step: number;
  readonly steps: number;
  readonly numFrames: number;
  readonly since: number;
  readonly caller: string | undefined;
}

/** A request's line on the board; `remove()` is idempotent. */
export interface BoardEntry {
  update(state: RequestState, step?: number): void;
  remove(): void;
}

export class RequestBoard {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  add(id: string, job: { steps: number; numFrames: number }, caller?: string): BoardEntry {
    const entry: Entry = { state: 'queued', step: 0, steps: job.steps, numFrames: job.numFrames, since: this.now(), caller };
    this.entries.set(id, entry);
    return {
      update: (state, step) => {
        entry.state = state;
        if (step !== undefined) entry.step = step;
      },
      remove: () => {
        if (this.entries.get(id) === entry) this.entries.delete(id);
      },
    };
  }

  /** Every entry, or only those of one caller. */
  list(caller?: string): RequestSummary[] {
    const now = this.now();
    let queued = 0;
    const all = [...this.entries].map(([id, e]) => ({
      caller: e.caller,
      summary: {
        id,
        state: e.state,
        step: e.step,
        steps: e.steps,
        num_frames: e.numFrames,
        elapsed_ms: Math.max(0, Math.round(now - e.since)),
        ...(e.state === 'queued' ? { queue_position: ++queued } : {}),
      },
    }));
    return all.filter((e) => caller === undefined || e.caller === caller).map((e) => e.summary);
  }
}
