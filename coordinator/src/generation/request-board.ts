/**
 * The generations the coordinator holds now, queued or running, for GET
 * /requests; the generation service adds, updates and removes the entries.
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
  /** Expected ms until it starts; only while queued, once admission holds it. */
  readonly expected_start_ms?: number;
  /** Expected ms until it finishes, once admission holds it. */
  readonly expected_finish_ms?: number;
}

/** What admission expects of a request it holds, ms from now. */
export interface RequestOutlook {
  readonly startInMs?: number;
  readonly finishInMs: number;
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

  /** Every entry, or only those of one caller, with admission's expectations where it has them. */
  list(caller?: string, outlook?: ReadonlyMap<string, RequestOutlook>): RequestSummary[] {
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
        ...expectations(e.state, outlook?.get(id)),
      },
    }));
    return all.filter((e) => caller === undefined || e.caller === caller).map((e) => e.summary);
  }
}

function expectations(state: RequestState, o: RequestOutlook | undefined): Pick<RequestSummary, 'expected_start_ms' | 'expected_finish_ms'> {
  if (!o) return {};
  const finish = { expected_finish_ms: Math.round(o.finishInMs) };
  return state === 'queued' && o.startInMs !== undefined ? { expected_start_ms: Math.round(o.startInMs), ...finish } : finish;
}
