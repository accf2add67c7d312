/** Processes as `ps` and /proc see them: descendants of a process, their command lines, whether they still run. */
import { alive, descendants as descendantsIn, psTable } from '../../src/process-table.ts';

export { alive, commandOf } from '../../src/process-table.ts';

/** The pids of every descendant of a process. */
export function descendants(pid: number): number[] {
  return descendantsIn(pid, psTable()).map((e) => e.pid);
}

/** Waits until none of `pids` runs, or `ms` passed; returns those still running. */
export async function waitGone(pids: readonly number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  while (pids.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(alive);
}
