/**
 * The spool processes of a running launcher, found from outside as an
 * operator would: the process table (`ps`), the launcher's descendants, each
 * labelled by its role from its command line (`denoise.0`, `vae-decoder`,
 * `nats-server`, …). Replicas of a stage get `#k` labels that stay with the
 * slot, so a restarted replica takes the label of the one it replaces.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { alive, commandOf, descendants, psTable, type PsEntry } from '@spool/infra';

export { alive, commandOf, descendants, psTable, type PsEntry };

/**
 * The role a command line plays in a spool stack: `launcher`, `coordinator`,
 * a worker's stage (`text-encoder`, `denoise.<shard>`, `vae-decoder`,
 * `video-encoder`), `nats-server` (the server itself), `nats-guard` (the
 * small sh that watches it), `ffmpeg` (a video encoder's child, one per
 * call); undefined for anything else.
 */
export function roleOf(args: string): string | undefined {
  if (/\binfra\/src\/main\.ts\b/.test(args)) return 'launcher';
  if (/\bcoordinator\/src\/main\.ts\b/.test(args)) return 'coordinator';
  if (/\bstages\/src\/main\.ts\b/.test(args)) {
    const role = /--role\s+(\S+)/.exec(args)?.[1];
    if (role === 'denoiser') {
      const shard = /--shard\s+(\d+)/.exec(args)?.[1];
      return shard === undefined ? undefined : `denoise.${shard}`;
    }
    return role;
  }
  if (/spool-nats-guard/.test(args)) return 'nats-guard';
  if (/^\S*nats-server\s+-c\s/.test(args)) return 'nats-server';
  if (/^\S*ffmpeg(\s|$)/.test(args)) return 'ffmpeg';
  return undefined;
}

/** Roles of the processes the launcher starts itself: the coordinator and the workers. */
const LAUNCHER_CHILDREN = (role: string): boolean => role !== 'launcher' && role !== 'nats-server' && role !== 'nats-guard' && role !== 'ffmpeg';

/** Roles that are short-lived helpers rather than the stack's own processes. */
export const HELPER_ROLES: ReadonlySet<string> = new Set(['nats-guard', 'ffmpeg']);

export interface Tracked {
  readonly pid: number;
  readonly role: string;
  /** The role, with `#k` for a stage run with several replicas. */
  readonly label: string;
  readonly args: string;
}

/**
 * Follows a launcher's descendants over time. `replicas` says how many
 * workers each stage runs; a stage with more than one gets the labels
 * `stage#0` … `stage#n-1`, given to new processes in pid order, each taking
 * the lowest label whose process is gone. Every process ever seen is kept,
 * so what is left behind after a stop can be checked.
 */
export class ProcessTracker {
  private readonly labels = new Map<number, Tracked>();
  private readonly everSeen = new Map<number, Tracked>();
  private current: Tracked[] = [];

  constructor(
    readonly root: number,
    private readonly replicas: ReadonlyMap<string, number> = new Map(),
    private readonly table: () => readonly PsEntry[] = psTable,
  ) {}

  /** Looks at the process table now; returns the spool processes alive (the launcher first). */
  refresh(): Tracked[] {
    const rows = this.table();
    const self = rows.find((r) => r.pid === this.root);
    const found = [...(self ? [self] : []), ...descendants(this.root, rows)];
    const live = new Set(found.map((e) => e.pid));
    // Gone, or its pid now runs something else.
    for (const [pid, t] of [...this.labels]) if (!live.has(pid) || found.find((e) => e.pid === pid)!.args !== t.args) this.labels.delete(pid);
    const fresh = found.filter((e) => !this.labels.has(e.pid)).sort((a, b) => a.pid - b.pid);
    for (const e of fresh) {
      const role = roleOf(e.args);
      if (role === undefined) continue;
      // The stack's own processes are the launcher's children; a child of a worker with the
      // worker's command line is a fork on its way to exec (ffmpeg), not another worker.
      if (LAUNCHER_CHILDREN(role) && e.ppid !== this.root) continue;
      const t: Tracked = { pid: e.pid, role, label: this.labelFor(role), args: e.args };
      this.labels.set(e.pid, t);
      this.everSeen.set(e.pid, t);
    }
    this.current = found.map((e) => this.labels.get(e.pid)).filter((t): t is Tracked => t !== undefined);
    return this.current;
  }

  /** The processes found by the last refresh. */
  latest(): readonly Tracked[] {
    return this.current;
  }

  /** Every spool process seen since the start. */
  seen(): Tracked[] {
    return [...this.everSeen.values()];
  }

  private labelFor(role: string): string {
    const n = this.replicas.get(role) ?? 1;
    if (n <= 1) return role;
    const taken = new Set([...this.labels.values()].filter((t) => t.role === role).map((t) => t.label));
    for (let k = 0; ; k++) if (!taken.has(`${role}#${k}`)) return `${role}#${k}`;
  }
}

/** Resident set size in MB from `/proc/<pid>/status` (VmRSS), or undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/** How many of a process's threads are running on a CPU now (state R in `/proc/<pid>/task/<tid>/stat`); 0 when it is gone. */
export function runningThreads(pid: number): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let running = 0;
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      if (stat[stat.lastIndexOf(')') + 2] === 'R') running++;
    } catch {
      // the thread ended meanwhile
    }
  }
  return running;
}
