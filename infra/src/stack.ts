/**
 * Starting and stopping a whole local stack: nats-server (unless a URL is
 * given), the stage workers, then the coordinator; each step waits until the
 * previous one really serves. Used by `npm start` and the end-to-end tests.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnection } from '@nats-io/nats-core';
import { readJobStoreLimits } from '@spool/coordinator';
import {
  busIdentities,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  DEFAULT_CALL_TIMEOUT_MS,
  discoverWorkers,
  inboxPrefix,
  keyFileOf,
  LAUNCHER_IDENTITY,
  loadModelPackage,
  readNatsTls,
  readSeedFile,
  stageIdentity,
  stageLabel,
  writeBusCredentials,
  type ConnectOptions,
} from '@spool/shared';
import { jetStreamFor, type JetStreamStore } from './jetstream.ts';
import type { ResolvedLayout } from './layout/types.ts';
import { startNatsServer } from './nats-server.ts';
import { superviseNatsServer } from './nats-supervisor.ts';
import { assertPortFree, freePort } from './net.ts';
import { coordinatorSpec, workerSpec, type ProcessOptions } from './processes.ts';
import { Supervisor, type ChildHandle, type LineSink } from './supervisor.ts';
import { WorkerWatchdog } from './worker-watchdog.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface StackOptions {
  readonly modelDir: string;
  /** The workers to run (`loadLayout`), resolved against the model in `modelDir`. */
  readonly layout: ResolvedLayout;
  readonly tokens: readonly string[];
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly natsUrl?: string;
  /**
   * With `natsUrl`: a folder of bus key files (`<identity>.nk`) matching the
   * server's authorization; without it that server must be open. Without
   * `natsUrl` the stack makes its own server with a new set of keys.
   */
  readonly busCredentialsDir?: string;
  /** Variables for every process (OTEL_*, SPOOL_LOG_LEVEL, …). */
  readonly env?: Readonly<Record<string, string>>;
  readonly coordinatorEnv?: Readonly<Record<string, string>>;
  readonly logDir?: string;
  readonly onLine?: LineSink;
  readonly readyTimeoutMs?: number;
  /**
   * Start a process again when it exits without being asked to, with a
   * growing delay; after `maxRestarts` exits within a minute, give up and
   * report it through `unexpectedExit`. Off by default (tests want to see exits).
   */
  readonly restart?: {
    readonly maxRestarts: number;
    /**
     * A worker that answered discovery and then stays silent this long while
     * its process lives (frozen, hung) is killed, and so started again
     * (`WorkerWatchdog`); absent or 0: not watched.
     */
    readonly stallMs?: number;
  };
}

export interface Stack {
  readonly url: string;
  readonly natsUrl: string;
  readonly port: number;
  /** Every process: the workers' labels (`denoise.0`, `denoise.1#1`, …) and `coordinator`. */
  readonly labels: readonly string[];
  /**
   * Stops one process (a worker or the coordinator) for good (it is not
   * started again): as an operator would (SIGTERM, the default), or as a
   * crash would (SIGKILL).
   */
  stopProcess(label: string, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts a stopped process again and waits until it serves. */
  startProcess(label: string): Promise<void>;
  tail(label: string): string[];
  /** Resolves with the first process that exits without being asked to (and, with `restart`, keeps failing). */
  readonly unexpectedExit: Promise<{ label: string; code: number | string }>;
  /** The process id of a worker or the coordinator, or of `nats-server` when the stack runs its own. */
  pid(label: string): number | undefined;
  /**
   * Stops in order, losing nothing: the coordinator first, given its whole
   * drain (it finishes every request it admitted), then the workers, then NATS.
   */
  stop(): Promise<void>;
}

/** What a stop may wait for the coordinator: its drain (SPOOL_DRAIN_S, by default the request deadline) and a margin. */
export function coordinatorStopMs(env: Readonly<Record<string, string | undefined>>): number {
  const requestS = Number(env.SPOOL_REQUEST_TIMEOUT_MS ?? 600_000) / 1000;
  const drainS = Number(env.SPOOL_DRAIN_S ?? Math.ceil(requestS));
  return (Number.isFinite(drainS) ? drainS : 600) * 1000 + 15_000;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const { layout } = opts;
  const manifest = loadModelPackage(opts.modelDir).manifest;
  if (manifest.name !== layout.model || manifest.transformer.blocks.length !== layout.blockCount) {
    throw new Error(
      `the layout ${layout.source} was resolved for ${layout.model} (${layout.blockCount} blocks), not for ${manifest.name} in ${opts.modelDir} ` +
        `(${manifest.transformer.blocks.length} blocks): resolve it against the model that runs`,
    );
  }
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port === 0 ? await freePort(host === '0.0.0.0' ? '127.0.0.1' : host) : opts.port;
  if (opts.port !== 0) await assertPortFree(host, port);
  const model = manifest.name;
  const shards = layout.shards.length;
  // Our own server gets a folder for this run that only this user can read: the keys made for
  // this run (bus/) and JetStream's store of the coordinator's jobs (jetstream/). A server started
  // again after a crash reads the same store; the run's stop deletes the folder, and so does the
  // server's guard should this process be killed outright.
  let runDir: string | undefined;
  let ownKeys: string | undefined;
  let extraConfig: string | undefined;
  let jetstream: JetStreamStore | undefined;
  if (!opts.natsUrl) {
    const limits = readJobStoreLimits({ ...opts.env, ...opts.coordinatorEnv });
    runDir = mkdtempSync(path.join(tmpdir(), 'spool-run-'));
    ownKeys = path.join(runDir, 'bus');
    // Stages may answer a call for as long as the coordinator waits for it.
    const callTimeoutMs = Number(opts.coordinatorEnv?.SPOOL_STAGE_TIMEOUT_MS ?? opts.env?.SPOOL_STAGE_TIMEOUT_MS ?? DEFAULT_CALL_TIMEOUT_MS);
    const creds = createBusCredentials(busIdentities(shards), { model, shards, callTimeoutMs });
    writeBusCredentials(ownKeys, creds);
    extraConfig = creds.authorization;
    jetstream = jetStreamFor(path.join(runDir, 'jetstream'), limits);
    mkdirSync(jetstream.storeDir, { mode: 0o700 });
  }
  const removeOwnFolders = (): void => {
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  };
  const keyDir = ownKeys ?? opts.busCredentialsDir;
  let reportExit: (v: { label: string; code: number | string }) => void = () => undefined;
  const unexpectedExit = new Promise<{ label: string; code: number | string }>((resolve) => (reportExit = resolve));
  // Our own nats-server is supervised like any worker when the stack restarts processes.
  let nats: { url: string; stop(): Promise<void>; pid(): number | undefined } | undefined;
  try {
    if (!opts.natsUrl) {
      const onLine = (l: string): void => opts.onLine?.('nats-server', l);
      if (opts.restart) {
        const supervised = await superviseNatsServer({
          extraConfig,
          jetstream,
          removeOnStop: runDir,
          onLine,
          maxRestarts: opts.restart.maxRestarts,
          onRestart: (code, delayMs) => opts.onLine?.('nats-server', `exited (${code ?? 'signal'}); starting it again on the same port in ${delayMs} ms`),
        });
        void supervised.gaveUp.then((code) => reportExit({ label: 'nats-server', code: code ?? 'signal' }));
        nats = { url: supervised.url, stop: () => supervised.stop(), pid: () => supervised.current().serverPid() };
      } else {
        const handle = await startNatsServer({ extraConfig, jetstream, removeOnStop: runDir, onLine });
        nats = { url: handle.url, stop: () => handle.stop(), pid: () => handle.serverPid() };
      }
    }
  } catch (err) {
    removeOwnFolders();
    throw err;
  }
  const natsUrl = opts.natsUrl ?? nats!.url;
  const processOptions: ProcessOptions = {
    natsUrl,
    modelDir: opts.modelDir,
    env: { ...opts.env },
    coordinatorEnv: { ...opts.coordinatorEnv, SPOOL_HOST: host, SPOOL_PORT: String(port), SPOOL_API_TOKENS: opts.tokens.join(',') },
  };
  const supervisor = new Supervisor(REPO_ROOT, opts.logDir, opts.onLine);
  const workers = new Map(layout.workers.map((w) => [w.label, w] as const));
  // Each process is given its own identity's key file and no other.
  const keyed = <T extends { env: Readonly<Record<string, string>> }>(spec: T, identity: string): T =>
    keyDir ? { ...spec, env: { ...spec.env, SPOOL_NATS_KEY_FILE: keyFileOf(keyDir, identity) } } : spec;
  const specs = new Map([
    ...layout.workers.map((w) => [w.label, keyed(workerSpec(w, processOptions), stageIdentity(w.role, w.shard))] as const),
    ['coordinator', keyed(coordinatorSpec(processOptions), COORDINATOR_IDENTITY)] as const,
  ]);
  const running = new Map<string, ChildHandle>();
  const stopping = new Set<string>();
  let nc: NatsConnection | undefined;

  const recentExits = new Map<string, number[]>();
  const launch = (label: string): ChildHandle => {
    const handle = supervisor.start(specs.get(label)!);
    running.set(label, handle);
    void handle.exited.then((code) => {
      if (stopping.has(label)) return;
      const now = Date.now();
      const exits = [...(recentExits.get(label) ?? []).filter((t) => now - t < 60_000), now];
      recentExits.set(label, exits);
      if (!opts.restart || exits.length > opts.restart.maxRestarts) {
        reportExit({ label, code });
        return;
      }
      const delay = Math.min(30_000, 500 * 2 ** (exits.length - 1));
      opts.onLine?.(label, `exited (${code}); starting it again in ${delay} ms (${exits.length} of ${opts.restart.maxRestarts} restarts a minute)`);
      setTimeout(() => {
        if (!stopping.has(label)) launch(label);
      }, delay).unref();
    });
    return handle;
  };

  const failure = (label: string, code: number | string): Error =>
    new Error(`${label} exited (${code}) before it was ready. Its last lines:\n${running.get(label)?.tail().join('\n')}`);

  const waitFor = async (what: string, labels: string[], check: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      for (const label of labels) {
        const h = running.get(label);
        if (h && (h.process.exitCode !== null || h.process.signalCode !== null)) throw failure(label, h.process.exitCode ?? h.process.signalCode ?? '?');
      }
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${what} not ready after ${readyTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  /** Live workers of this model per stage label, from discovery. */
  const liveCounts = async (): Promise<Map<string, number>> => {
    const counts = new Map<string, number>();
    for (const w of await discoverWorkers(nc!, 500)) {
      if (w.model !== layout.model) continue;
      const stage = stageLabel(w.role, w.shard);
      counts.set(stage, (counts.get(stage) ?? 0) + 1);
    }
    return counts;
  };
  const isRunning = (label: string): boolean => {
    const p = running.get(label)?.process;
    return p !== undefined && p.exitCode === null && p.signalCode === null && !stopping.has(label);
  };
  /**
   * Whether every stage of `labels` has as many live workers as the stack
   * runs for it now. Discovery counts workers per stage, not per process:
   * replicas of a stage are interchangeable.
   */
  const allServing = async (labels: readonly string[]): Promise<boolean> => {
    const live = await liveCounts();
    const stages = new Set(labels.map((l) => workers.get(l)!.stage));
    return [...stages].every((stage) => (live.get(stage) ?? 0) >= layout.workers.filter((w) => w.stage === stage && isRunning(w.label)).length);
  };

  const healthy = async (): Promise<boolean> => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;

  /** Worker processes running now and not being stopped: label → pid. */
  const runningWorkerPids = (): Map<string, number> => {
    const pids = new Map<string, number>();
    for (const label of workers.keys()) {
      const pid = running.get(label)?.process.pid;
      if (pid !== undefined && isRunning(label)) pids.set(label, pid);
    }
    return pids;
  };
  const stallMs = opts.restart?.stallMs ?? 0;
  const watchdog =
    stallMs > 0
      ? new WorkerWatchdog({
          discover: () => discoverWorkers(nc!, 500),
          processes: runningWorkerPids,
          stallMs,
          kill: (label, pid, silentMs) => {
            opts.onLine?.(label, `has not answered for ${(silentMs / 1000).toFixed(1)} s while its process ${pid} lives (frozen or hung); killing it to start it again`);
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          },
        })
      : undefined;

  const stack: Stack = {
    url: `http://127.0.0.1:${port}`,
    natsUrl,
    port,
    labels: [...specs.keys()],
    async stopProcess(label, signal = 'SIGTERM') {
      const h = running.get(label);
      if (!h) throw new Error(`no process named ${label}; known: ${[...specs.keys()].join(', ')}`);
      stopping.add(label);
      if (signal === 'SIGKILL') {
        h.process.kill('SIGKILL');
        await h.exited;
      } else await h.stop();
    },
    async startProcess(label) {
      if (!specs.has(label)) throw new Error(`no process named ${label}`);
      stopping.delete(label);
      launch(label);
      if (label === 'coordinator') await waitFor('coordinator', [label], healthy);
      else await waitFor(label, [label], () => allServing([label]));
    },
    tail: (label) => running.get(label)?.tail() ?? [],
    unexpectedExit,
    pid: (label) => (label === 'nats-server' ? nats?.pid() : running.get(label)?.process.pid),
    async stop() {
      for (const label of specs.keys()) stopping.add(label);
      await watchdog?.stop();
      // The coordinator drains first: it still needs every worker and NATS for the requests it finishes.
      await running.get('coordinator')?.stop(coordinatorStopMs({ ...opts.env, ...opts.coordinatorEnv }));
      const workerStopMs = Number(opts.env?.SPOOL_DRAIN_GRACE_MS ?? 10_000) + 5_000;
      await Promise.all([...running.entries()].filter(([l]) => l !== 'coordinator').map(([, h]) => h.stop(workerStopMs)));
      await nc?.close().catch(() => undefined);
      await nats?.stop();
      removeOwnFolders();
      supervisor.close();
    },
  };

  try {
    nc = await connectLauncher({
      servers: natsUrl,
      name: 'spool-launcher',
      auth: {
        identity: LAUNCHER_IDENTITY,
        inboxPrefix: inboxPrefix(model, LAUNCHER_IDENTITY),
        seed: keyDir ? readSeedFile(keyFileOf(keyDir, LAUNCHER_IDENTITY)) : undefined,
      },
      // The same TLS settings the processes get (SPOOL_NATS_TLS_*).
      tls: readNatsTls({ ...opts.env }),
    });
    const workerLabels = layout.workers.map((w) => w.label);
    workerLabels.forEach(launch);
    await waitFor('workers', workerLabels, () => allServing(workerLabels));
    launch('coordinator');
    await waitFor('coordinator', ['coordinator'], healthy);
    watchdog?.start();
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;

  /** Connects, saying why each failed try failed (a wrong URL, an untrusted certificate, a refused key) until the ready timeout. */
  async function connectLauncher(options: ConnectOptions): Promise<NatsConnection> {
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      try {
        return await connectNats({ ...options, waitOnFirstConnect: false });
      } catch (err) {
        const why = `cannot connect to NATS at ${options.servers}: ${(err as Error).message}`;
        if (Date.now() > deadline) throw new Error(`${why} (gave up after ${readyTimeoutMs} ms)`);
        opts.onLine?.('launcher', `${why}; trying again`);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }
}
