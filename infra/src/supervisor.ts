/**
 * Child processes of the local stack: started with the repository's tsx
 * loader, their log lines collected, stopped with SIGTERM and then SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { STOP_WITH_PARENT } from '@spool/shared';

export interface ChildSpec {
  /** Short name shown in logs: `denoise.0`, `coordinator`. */
  readonly label: string;
  /** Script path relative to the repository root. */
  readonly script: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface ChildHandle {
  readonly spec: ChildSpec;
  readonly process: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** The last lines it printed, for error messages. */
  tail(): string[];
  stop(graceMs?: number): Promise<void>;
}

export type LineSink = (label: string, line: string) => void;

/** Variables of the launcher's environment that every child needs to run at all. */
const BASE_ENV = /^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|TZ|TMPDIR|TERM|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|LD_LIBRARY_PATH|CUDA_VISIBLE_DEVICES|LC_[A-Z]+)$/;

export function baseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && BASE_ENV.test(k)) out[k] = v;
  return out;
}

export class Supervisor {
  private readonly logFiles = new Map<string, WriteStream>();

  constructor(
    private readonly root: string,
    private readonly logDir: string | undefined,
    private readonly sink: LineSink | undefined,
  ) {
    if (logDir) mkdirSync(logDir, { recursive: true });
  }

  start(spec: ChildSpec): ChildHandle {
    const child = spawn(process.execPath, ['--import', 'tsx', spec.script, ...spec.args], {
      cwd: this.root,
      // stdin stays open for the child's life: its end tells the child that this process is gone.
      // A child gets the machine's basics and its own spec, nothing else of this process's
      // environment: no API tokens, no other identity's key file.
      env: { ...baseEnv(process.env), ...spec.env, [STOP_WITH_PARENT]: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: a signal to the launcher's group (Ctrl-C in a terminal, kill -TERM -PGID)
      // reaches the launcher alone, which then stops its children in order.
      detached: true,
    });
    const tail: string[] = [];
    const file = this.fileFor(spec.label);
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      file?.write(`${line}\n`);
      this.sink?.(spec.label, line);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      child.once('error', (err) => {
        onLine(`failed to start: ${err.message}`);
        resolve('spawn-error');
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      spec,
      process: child,
      exited,
      tail: () => [...tail],
      stop: (graceMs = 15_000) =>
        (stopping ??= (async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        })()),
    };
  }

  close(): void {
    for (const f of this.logFiles.values()) f.end();
    this.logFiles.clear();
  }

  private fileFor(label: string): WriteStream | undefined {
    if (!this.logDir) return undefined;
    let f = this.logFiles.get(label);
    if (!f) {
      f = createWriteStream(path.join(this.logDir, `${label}.log`), { flags: 'a' });
      this.logFiles.set(label, f);
    }
    return f;
  }
}
