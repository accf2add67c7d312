/**
 * The real `spool` command as a child process (`cli/bin/spool.js` under
 * this Node): run to its end with its exit code, stdout and stderr, or
 * started and watched while it runs (to interrupt it, or to act while it
 * waits). Its environment has no SPOOL_URL / SPOOL_TOKEN but what a test gives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(REPO_ROOT, 'cli', 'bin', 'spool.js');

export interface BinResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BinOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('SPOOL_')) delete env[name];
  return { ...env, ...extra };
}

export class RunningBin {
  stdout = '';
  stderr = '';
  readonly done: Promise<BinResult>;
  private readonly watchers = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (t: string) => this.heard(() => (this.stdout += t)));
    child.stderr!.setEncoding('utf8').on('data', (t: string) => this.heard(() => (this.stderr += t)));
    this.done = new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        this.heard(() => undefined);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves once stderr matches; fails when the command ends first, or after `ms`. */
  async waitForStderr(pattern: RegExp, ms = 120_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(this.stderr);
      if (m) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`spool ended before its stderr said ${pattern}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`spool's stderr never said ${pattern}:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 1000);
        this.watchers.add(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  private heard(update: () => void): void {
    update();
    const ws = [...this.watchers];
    this.watchers.clear();
    for (const w of ws) w();
  }
}

export function startBin(args: readonly string[], opts: BinOptions = {}): RunningBin {
  return new RunningBin(spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? REPO_ROOT, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] }));
}

export const runBin = (args: readonly string[], opts: BinOptions = {}): Promise<BinResult> => startBin(args, opts).done;

/** `npx spool …` from the repository's root, offline: npm runs the root package's own bin. */
export function runNpx(args: readonly string[], opts: BinOptions = {}): Promise<BinResult> {
  const child = spawn('npx', ['--offline', 'spool', ...args], { cwd: REPO_ROOT, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new RunningBin(child).done;
}
