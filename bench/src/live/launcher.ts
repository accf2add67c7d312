/**
 * The real launcher (`node --import tsx infra/src/main.ts`, what `npm start`
 * runs) as a child process on a loopback port, so that signals sent to it are
 * real. Its output goes to `<logDir>/launcher.log`; lines about exits,
 * restarts and the stop are kept with their time.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from '@spool/infra';
import { secs, type Clock } from './clock.ts';

export interface LauncherOptions {
  readonly modelDir: string;
  readonly layoutFile: string;
  readonly port: number;
  readonly token: string;
  /** The launcher's SPOOL_LOG_DIR; its own output goes to launcher.log there. */
  readonly logDir: string;
  /** More variables for the launcher and every process it starts (SPOOL_RATE_LIMIT, …). */
  readonly env?: Readonly<Record<string, string>>;
  readonly clock: Clock;
  readonly readyTimeoutMs?: number;
}

export interface LauncherExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** Seconds on the run's clock. */
  readonly at: number;
}

export interface LauncherLine {
  readonly at: number;
  readonly line: string;
}

export interface Launcher {
  readonly pid: number;
  readonly url: string;
  readonly exited: Promise<LauncherExit>;
  /** Whether it has exited. */
  readonly done: boolean;
  /** Lines about exits, restarts, draining and stopping, in order. */
  readonly notable: readonly LauncherLine[];
  /** Its last lines, for error messages. */
  tail(): string[];
  signal(sig: NodeJS.Signals): void;
}

/** What the launcher prints that a report should keep: exits, restarts, the drain and the stop. */
const NOTABLE = /exited|starting it again|keeps exiting|stopping|stopped\.|draining|drain|cannot start|SIGTERM|terminated/;
const MAX_NOTABLE = 400;

/** Starts the launcher and resolves once it prints that it is ready. */
export async function startLauncher(o: LauncherOptions): Promise<Launcher> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      SPOOL_HOST: '127.0.0.1',
      SPOOL_PORT: String(o.port),
      SPOOL_API_TOKENS: o.token,
      SPOOL_LOG_DIR: o.logDir,
      SPOOL_LAYOUT: o.layoutFile,
      SPOOL_MODEL_DIR: o.modelDir,
      // Its own nats-server, supervised and restarted by the launcher.
      NATS_URL: '',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(path.join(o.logDir, 'launcher.log'), { flags: 'a' });
  const notable: LauncherLine[] = [];
  const tail: string[] = [];
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  const onLine = (line: string): void => {
    file.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 60) tail.shift();
    if (NOTABLE.test(line) && notable.length < MAX_NOTABLE) notable.push({ at: secs(o.clock.now()), line: line.trim() });
    if (line.includes('spool is ready')) ready();
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  let done = false;
  const exited = new Promise<LauncherExit>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal, at: secs(o.clock.now()) });
      // Lines still in the pipes arrive before 'close'.
      child.once('close', () => file.end());
    }),
  );
  const timeoutMs = o.readyTimeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    isReady.then(() => 'ready' as const),
    exited.then((e) => `the launcher exited (${e.code ?? e.signal}) before it was ready`),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`the launcher was not ready after ${timeoutMs} ms`), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    if (!done) child.kill('SIGTERM');
    throw new Error(`${outcome}; its last lines:\n${tail.join('\n')}`);
  }
  return {
    pid: child.pid!,
    url: `http://127.0.0.1:${o.port}`,
    exited,
    get done() {
      return done;
    },
    notable,
    tail: () => [...tail],
    signal: (sig) => void (done || child.kill(sig)),
  };
}
