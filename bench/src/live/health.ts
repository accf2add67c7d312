/**
 * `/health` watched from outside, a few times a second: each change of state
 * (healthy, unhealthy with the coordinator's message, unreachable) with its
 * time. Also how many workers `/info` lists, for when a stage is back to full
 * strength.
 */
import { secs, type Clock } from './clock.ts';
import { isFailure, request } from './http.ts';

export type HealthState = 'healthy' | 'unhealthy' | 'unreachable';

export interface HealthChange {
  /** Seconds on the run's clock. */
  readonly at: number;
  readonly state: HealthState;
  /** The coordinator's message when unhealthy; the network error when unreachable. */
  readonly message?: string;
}

export class HealthWatch {
  readonly changes: HealthChange[] = [];
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly url: string,
    private readonly clock: Clock,
    private readonly intervalMs = 250,
  ) {}

  get state(): HealthState | undefined {
    return this.changes.at(-1)?.state;
  }

  start(): this {
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const at = this.clock.now();
      const r = await request(`${this.url}/health`, { timeoutMs: 2_000 });
      let change: Omit<HealthChange, 'at'>;
      if (isFailure(r)) change = { state: 'unreachable', message: r.error };
      else if (r.status === 200) change = { state: 'healthy' };
      else change = { state: 'unhealthy', message: messageOf(r.body) };
      if (change.state !== this.state) this.changes.push({ at: secs(at), ...change });
    } finally {
      this.polling = false;
    }
  }
}

/** The ids of the workers `/info` lists now (each worker process has its own), or undefined when it does not answer. */
export async function liveWorkers(url: string): Promise<string[] | undefined> {
  const r = await request(`${url}/info`, { timeoutMs: 2_000 });
  if (isFailure(r) || r.status !== 200) return undefined;
  try {
    return (JSON.parse(r.body.toString('utf8')) as { workers: Array<{ id: string }> }).workers.map((w) => w.id);
  } catch {
    return undefined;
  }
}

function messageOf(body: Buffer): string {
  try {
    return String((JSON.parse(body.toString('utf8')) as { message?: unknown }).message ?? '');
  } catch {
    return body.subarray(0, 200).toString('utf8');
  }
}
