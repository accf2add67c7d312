/**
 * The process table as `ps` and /proc show it: every process with its parent
 * and command line, a process's descendants, whether one still runs. For the
 * tests and benchmarks that look at a running stack from outside.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface PsEntry {
  readonly pid: number;
  readonly ppid: number;
  /** The full command line. */
  readonly args: string;
}

/** The whole process table, one `ps` call. */
export function psTable(): PsEntry[] {
  const out = execFileSync('ps', ['-ww', '-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const rows: PsEntry[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) rows.push({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3] });
  }
  return rows;
}

/** Every descendant of `root` in `table` (children, their children, …), parents before children. */
export function descendants(root: number, table: readonly PsEntry[]): PsEntry[] {
  const children = new Map<number, PsEntry[]>();
  for (const e of table) children.set(e.ppid, [...(children.get(e.ppid) ?? []), e]);
  const out: PsEntry[] = [];
  const walk = (pid: number): void => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/**
 * Whether a process still runs. A zombie has exited and only waits for its
 * parent to collect its status (for good, where PID 1 is not an init), so it
 * does not count.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** The command line of a live process, or '' when it is gone. */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}
