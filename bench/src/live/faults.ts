/**
 * Faults injected for real: `kill -9` of a spool process found by its label
 * in the process table, then watched from outside until the launcher has
 * started a new process in its place and `/info` lists every worker again.
 *
 * `/info` lists the coordinator's latest picture of the workers, which may be
 * a moment old, so "every worker again" is only believed from a listing that
 * cannot predate the fault: after a worker's death, one that names a worker
 * id not listed before the kill (the replacement's); after nats-server's, one
 * taken once /health, having turned unhealthy, is healthy again (or, should it
 * never turn, 5 s after the new server runs).
 */
import { secs, sleep, type Clock } from './clock.ts';
import { liveWorkers, type HealthWatch } from './health.ts';
import { runningThreads, type ProcessTracker } from './processes.ts';

export interface FaultRecord {
  /** Seconds on the run's clock when the signal was sent. */
  readonly at: number;
  /** What the chart and the report call it: `kill -9 denoise.0#0`, `kill -STOP denoise.0#1`. */
  readonly label: string;
  /** The process's label. */
  readonly target: string;
  /** SIGKILL: killed outright; SIGSTOP: frozen, its process alive (the launcher's watchdog must kill it). */
  readonly signal: FaultSignal;
  readonly pid?: number;
  /** Why no signal was sent (no such process). */
  readonly error?: string;
  /** The process started in its place, and when it was first seen. */
  replaced_pid?: number;
  replaced_at?: number;
  /** When `/info` listed as many workers as before the fault, in a listing made after it. */
  full_strength_at?: number;
}

export type FaultSignal = 'SIGKILL' | 'SIGSTOP';

export interface FaultContext {
  readonly tracker: ProcessTracker;
  readonly clock: Clock;
  readonly url: string;
  readonly health: HealthWatch;
  /** Workers `/info` lists at full strength. */
  readonly workers: number;
}

/** Without a worker id to wait for, a listing is believed this long after the replacement even if /health never turned. */
const NO_TURN_S = 5;

/**
 * Sends SIGKILL (or SIGSTOP) to the process labelled `target` and returns its
 * record; `recovered` resolves when the replacement and full strength were
 * seen, or at `watchUntil` (run clock seconds), whichever comes first. A
 * frozen process still there at `watchUntil` is killed, so the run leaves
 * nothing stopped behind.
 */
export async function killProcess(
  target: string,
  ctx: FaultContext,
  watchUntil: number,
  signal: FaultSignal = 'SIGKILL',
): Promise<{ record: FaultRecord; recovered: Promise<FaultRecord> }> {
  const before = new Set((await liveWorkers(ctx.url)) ?? []);
  const victim = ctx.tracker.refresh().find((t) => t.label === target);
  const at = secs(ctx.clock.now());
  const base = { at, label: `${signal === 'SIGKILL' ? 'kill -9' : 'kill -STOP'} ${target}`, target, signal };
  const failed = (error: string): { record: FaultRecord; recovered: Promise<FaultRecord> } => {
    const record = { ...base, error };
    return { record, recovered: Promise.resolve(record) };
  };
  if (!victim) return failed(`no process labelled ${target}; found ${ctx.tracker.latest().map((t) => t.label).join(', ')}`);
  try {
    process.kill(victim.pid, signal);
  } catch (err) {
    return failed((err as Error).message);
  }
  const record: FaultRecord = { ...base, pid: victim.pid };
  const isWorker = victim.role !== 'nats-server';
  const listingIsFresh = (ids: readonly string[]): boolean => {
    if (isWorker) return ids.some((id) => !before.has(id));
    const turned = ctx.health.changes.some((c) => c.at > at && c.state !== 'healthy');
    return turned ? ctx.health.state === 'healthy' : ctx.clock.now() > record.replaced_at! + NO_TURN_S;
  };
  const recovered = (async () => {
    while (ctx.clock.now() < watchUntil && (record.replaced_at === undefined || record.full_strength_at === undefined)) {
      await sleep(200);
      if (record.replaced_at === undefined) {
        const next = ctx.tracker.refresh().find((t) => t.label === target && t.pid !== victim.pid);
        if (next) Object.assign(record, { replaced_pid: next.pid, replaced_at: secs(ctx.clock.now()) });
      }
      if (record.replaced_at === undefined || record.full_strength_at !== undefined) continue;
      const ids = await liveWorkers(ctx.url);
      if (ids && ids.length >= ctx.workers && listingIsFresh(ids)) record.full_strength_at = secs(ctx.clock.now());
    }
    if (signal === 'SIGSTOP') {
      try {
        process.kill(victim.pid, 'SIGKILL');
      } catch {
        // killed by the watchdog, as it should be
      }
    }
    return record;
  })();
  return { record, recovered };
}

/**
 * Of the processes with this role (replicas of a stage), the label of one
 * caught with a thread on the CPU, looking every few milliseconds for at
 * most `timeoutMs`: a worker computes only while it handles a call, so
 * killing it then loses work that must be sent again. Undefined when none
 * was caught running.
 */
export async function caughtRunning(tracker: ProcessTracker, role: string, timeoutMs = 2_000): Promise<string | undefined> {
  const candidates = tracker.refresh().filter((t) => t.role === role);
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const running = candidates.find((t) => runningThreads(t.pid) > 0);
    if (running) return running.label;
    await new Promise((r) => setImmediate(r));
  }
  return undefined;
}
