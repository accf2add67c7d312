/**
 * A worker that stops answering while its process lives on (frozen by
 * SIGSTOP, hung, its event loop blocked) keeps its NATS connection and its
 * place in its stage's queue group: nats-server counts the messages it still
 * delivers to it as activity, so it never pings it stale, and calls sent to
 * that stage keep landing on it and being lost. The watchdog asks discovery
 * every `intervalMs` which workers answer; a process of ours that answered
 * once and then stays silent for `stallMs` is killed outright, so that its
 * connection closes at once, its calls go to the replicas that answer, and
 * the supervisor starts it again.
 *
 * Silence counts only while discovery itself works: a round that fails (NATS
 * down, the launcher reconnecting), or that none of our workers answers,
 * restarts every worker's clock, so a NATS restart never looks like frozen
 * workers.
 */
import { hostname } from 'node:os';
import type { WorkerInfo } from '@spool/shared';

export interface WatchdogOptions {
  /** The workers that answer now (discovery, a bounded wait). */
  readonly discover: () => Promise<readonly WorkerInfo[]>;
  /** The worker processes to watch: label → pid (running ones only). */
  readonly processes: () => ReadonlyMap<string, number>;
  /** Silence after which a worker that answered before is killed. */
  readonly stallMs: number;
  readonly intervalMs?: number;
  /** Kills the process (SIGKILL); the supervisor starts it again. */
  readonly kill: (label: string, pid: number, silentMs: number) => void;
  readonly now?: () => number;
  /** The host this launcher's processes run on; discovery answers from other hosts are not ours. */
  readonly host?: string;
}

export class WorkerWatchdog {
  /** When each watched pid last answered discovery (or when its clock was last restarted). */
  private readonly lastSeen = new Map<number, number>();
  /** Pids that answered at least once: a worker still loading its model is not watched yet. */
  private readonly answered = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly host: string;

  constructor(private readonly opts: WatchdogOptions) {
    this.now = opts.now ?? Date.now;
    this.host = opts.host ?? hostname();
  }

  /**
   * Starts watching. The processes running now are known to serve (the stack
   * saw every one in discovery before it started the coordinator), so they
   * are watched from now on, even if they freeze before the first round.
   */
  start(): void {
    if (this.timer) return;
    const now = this.now();
    for (const pid of this.opts.processes().values()) {
      this.answered.add(pid);
      this.lastSeen.set(pid, now);
    }
    this.timer = setInterval(() => {
      this.round ??= this.check().finally(() => (this.round = undefined));
    }, this.opts.intervalMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** One round: who answered, who has been silent too long. Exposed for tests. */
  async check(): Promise<void> {
    const watched = this.opts.processes();
    let workers: readonly WorkerInfo[];
    try {
      workers = await this.opts.discover();
    } catch {
      // Discovery itself failed: nobody's silence means anything now.
      this.restartClocks(watched);
      return;
    }
    const now = this.now();
    const seen = new Set(workers.filter((w) => w.pid !== undefined && (w.host === undefined || w.host === this.host)).map((w) => w.pid!));
    if (![...watched.values()].some((pid) => seen.has(pid))) {
      // Not one of ours answered: the bus between us, not every worker at once, is the likelier fault.
      this.restartClocks(watched);
      return;
    }
    // Forget processes that are gone (exited, restarted under a new pid).
    const live = new Set(watched.values());
    for (const pid of [...this.lastSeen.keys()]) {
      if (!live.has(pid)) {
        this.lastSeen.delete(pid);
        this.answered.delete(pid);
      }
    }
    for (const [label, pid] of watched) {
      if (seen.has(pid)) {
        this.lastSeen.set(pid, now);
        this.answered.add(pid);
        continue;
      }
      if (!this.answered.has(pid)) continue;
      const silentMs = now - (this.lastSeen.get(pid) ?? now);
      if (silentMs >= this.opts.stallMs) {
        this.lastSeen.delete(pid);
        this.answered.delete(pid);
        this.opts.kill(label, pid, silentMs);
      }
    }
  }

  private restartClocks(watched: ReadonlyMap<string, number>): void {
    const now = this.now();
    for (const pid of watched.values()) if (this.lastSeen.has(pid)) this.lastSeen.set(pid, now);
  }
}
