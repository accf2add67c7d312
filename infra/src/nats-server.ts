/**
 * A local nats-server child process on a free loopback port, with the max
 * payload raised so that most tensors travel in one message, and JetStream
 * when asked for (its store in a folder the caller owns, so that it outlives
 * this process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetStreamBlock, type JetStreamStore } from './jetstream.ts';
import { freePort, waitForPort } from './net.ts';

export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** Resolves with the exit code (null after a signal) once the server is gone, asked to or not. */
  readonly exited: Promise<number | null>;
  /** The nats-server process itself (the guard's child). */
  serverPid(): number | undefined;
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** Bytes; the server's default is 1 MB. */
  readonly maxPayload?: number;
  readonly binary?: string;
  /** Configuration text added to the server's file, e.g. the bus's `authorization` block. */
  readonly extraConfig?: string;
  /** Run JetStream with this store; absent: no JetStream. The folder is the caller's to keep or remove. */
  readonly jetstream?: JetStreamStore;
  /**
   * A folder of the caller's that the guard deletes once the server has
   * stopped because it was stopped or this process is gone (killed outright
   * included), but not when the server itself crashed: a restart reuses it.
   */
  readonly removeOnStop?: string;
  readonly onLine?: (line: string) => void;
}

/**
 * nats-server cannot notice that its parent died, so it runs under a small sh
 * guard: the guard holds this process's end of a stdin pipe and sends the
 * server SIGTERM when that pipe closes (this process stopped it, exited or
 * was killed outright), and exits with the server's own exit code. When the
 * server exits after that (the watcher is done), the guard also deletes the
 * folder named by SPOOL_NATS_REMOVE_ON_STOP, if any; when it exits on its own
 * (a crash), the folder stays for the restart. The configuration folder of
 * this start (SPOOL_NATS_CONF_DIR) is deleted in every case, also when no
 * process of ours is left to do it.
 */
const GUARD = [
  'exec 3<&0',
  '"$@" </dev/null &',
  'server=$!',
  'echo "spool-guard: nats-server pid $server" >&2',
  '( read -r _ <&3; kill -TERM "$server" 2>/dev/null; exit 0 ) &',
  'watcher=$!',
  'wait "$server"',
  'code=$?',
  'kill "$watcher" 2>/dev/null',
  // 0: the watcher saw the pipe close (asked to stop, or the owner is gone); killed by us: a crash.
  'wait "$watcher"',
  'if [ $? -eq 0 ] && [ -n "$SPOOL_NATS_REMOVE_ON_STOP" ]; then rm -rf -- "$SPOOL_NATS_REMOVE_ON_STOP"; fi',
  // This start's configuration folder goes whatever ended the server: a restart writes its own.
  'rm -rf -- "$SPOOL_NATS_CONF_DIR"',
  'exit "$code"',
].join('\n');

/** Exit code of sh when the command is not found. */
const NOT_FOUND = 127;

/**
 * The nats-server to run: SPOOL_NATS_SERVER, else the one on PATH, else
 * Debian's /usr/sbin/nats-server (not on a normal user's PATH).
 */
export function natsServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SPOOL_NATS_SERVER) return env.SPOOL_NATS_SERVER;
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...dirs, '/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  return 'nats-server';
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-nats-'));
  const conf = path.join(dir, 'nats.conf');
  const maxPayload = opts.maxPayload ?? 64 * 1024 * 1024;
  writeFileSync(
    conf,
    `host: "${host}"\nport: ${port}\nmax_payload: ${maxPayload}\nmax_pending: ${Math.max(maxPayload * 2, 64 * 1024 * 1024)}\n` +
      `${opts.jetstream ? jetStreamBlock(opts.jetstream) : ''}${opts.extraConfig ?? ''}`,
    { mode: 0o600 },
  );
  const binary = opts.binary ?? natsServerBinary();
  // detached: the guard leads its own process group, so the last-resort SIGKILL reaches the server too.
  const child = spawn('/bin/sh', ['-c', GUARD, 'spool-nats-guard', binary, '-c', conf], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, SPOOL_NATS_REMOVE_ON_STOP: opts.removeOnStop ?? '', SPOOL_NATS_CONF_DIR: dir },
  });
  child.stdin?.on('error', () => {}); // EPIPE when the guard is already gone
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const notFound = `cannot start ${binary}; install Debian's nats-server (apt-get install nats-server) or set SPOOL_NATS_SERVER`;
  const lines: string[] = [];
  let serverPid: number | undefined;
  const onData = (buf: Buffer): void => {
    for (const line of buf.toString().split('\n').filter(Boolean)) {
      const pid = /^spool-guard: nats-server pid (\d+)$/.exec(line);
      if (pid) {
        serverPid = Number(pid[1]);
        continue;
      }
      lines.push(line);
      if (lines.length > 50) lines.shift();
      opts.onLine?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  const ready = await Promise.race([
    waitForPort(host, port, 15_000).then(() => 'ready' as const),
    exited.then((code) => (code === NOT_FOUND ? notFound : `nats-server exited with code ${code}:\n${lines.join('\n')}`)),
    spawnError.then((e) => `cannot start /bin/sh (${e.message})`),
  ]);
  if (ready !== 'ready') {
    killGroup('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(ready);
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `nats://${host}:${port}`,
    port,
    process: child,
    exited,
    serverPid: () => serverPid,
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.stdin?.end(); // the guard sends the server SIGTERM and exits with it
          const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(dir, { recursive: true, force: true });
      })()),
  };
}
