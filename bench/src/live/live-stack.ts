/**
 * A launcher run for a bench: a work folder with the layout file and the
 * logs, a free loopback port and a fresh token, the launcher started and its
 * processes tracked; then the end: the launcher stopped (or seen to exit) and
 * every spool process it ever had checked to be gone. Anything left behind is
 * reported, then killed, so a run never leaves a process running.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelPackage } from '@spool/shared';
import { freePort, loadLayout, modelFacts, type ResolvedLayout } from '@spool/infra';
import { secs, sleep, type Clock } from './clock.ts';
import { startLauncher, type Launcher, type LauncherExit } from './launcher.ts';
import { alive, commandOf, ProcessTracker, roleOf, type Tracked } from './processes.ts';

export interface LiveStack {
  readonly launcher: Launcher;
  readonly tracker: ProcessTracker;
  readonly layout: ResolvedLayout;
  readonly url: string;
  readonly token: string;
  /** The folder of the layout file and the logs. */
  readonly workDir: string;
  /** Seconds from spawning the launcher to its "ready" line. */
  readonly startupS: number;
}

export interface LaunchOptions {
  /** Names the work folder: `spool-<name>-…`. */
  readonly name: string;
  readonly modelDir: string;
  /** The layout, written to the work folder and passed as SPOOL_LAYOUT. */
  readonly layout: object;
  readonly env?: Readonly<Record<string, string>>;
  readonly clock: Clock;
}

export async function launch(o: LaunchOptions): Promise<LiveStack> {
  const workDir = mkdtempSync(path.join(tmpdir(), `spool-${o.name}-`));
  const logDir = path.join(workDir, 'logs');
  mkdirSync(logDir);
  const layoutFile = path.join(workDir, 'layout.json');
  writeFileSync(layoutFile, `${JSON.stringify(o.layout, null, 2)}\n`);
  // Checked here too, to know the workers and their labels; the launcher checks it again.
  const layout = loadLayout({ file: layoutFile, model: modelFacts(loadModelPackage(o.modelDir).manifest) });
  const replicas = new Map<string, number>();
  for (const w of layout.workers) replicas.set(w.stage, w.replicas);
  const token = `${o.name}-${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const t0 = o.clock.now();
  const launcher = await startLauncher({ modelDir: o.modelDir, layoutFile, port, token, logDir, env: o.env, clock: o.clock });
  const startupS = secs(o.clock.now() - t0);
  const tracker = new ProcessTracker(launcher.pid, replicas);
  tracker.refresh();
  return { launcher, tracker, layout, url: launcher.url, token, workDir, startupS };
}

export interface LeftBehind {
  readonly pid: number;
  readonly label: string;
  readonly args: string;
}

/**
 * Waits for the launcher to exit after `signal` (sent unless undefined), at
 * most `boundMs`, then SIGKILL. Returns its exit and whether it had to be killed.
 */
export async function stopLauncher(s: LiveStack, signal: NodeJS.Signals | undefined, boundMs: number): Promise<{ exit: LauncherExit; killed: boolean }> {
  if (signal) s.launcher.signal(signal);
  const exit = await Promise.race([s.launcher.exited, sleep(boundMs).then(() => undefined)]);
  if (exit) return { exit, killed: false };
  s.launcher.signal('SIGKILL');
  return { exit: await s.launcher.exited, killed: true };
}

/**
 * Every spool process the launcher ever had that still runs `graceMs` after
 * its exit (children exit on their own once their parent is gone). Those
 * left are then killed, so nothing outlives the run.
 */
export async function leftBehind(tracker: ProcessTracker, graceMs = 10_000): Promise<LeftBehind[]> {
  const stillThere = (t: Tracked): boolean => alive(t.pid) && roleOf(commandOf(t.pid)) === t.role;
  const seen = tracker.seen().filter((t) => t.pid !== tracker.root);
  const until = Date.now() + graceMs;
  while (seen.some(stillThere) && Date.now() < until) await sleep(200);
  const left = seen.filter(stillThere).map((t) => ({ pid: t.pid, label: t.label, args: t.args }));
  for (const t of left) {
    try {
      process.kill(t.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left;
}

/** Removes the work folder unless it should be kept; returns where it is when kept. */
export function finish(s: LiveStack, keep: boolean): string | undefined {
  if (keep) return s.workDir;
  rmSync(s.workDir, { recursive: true, force: true });
  return undefined;
}
