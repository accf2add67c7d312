/**
 * A closed bus with JetStream for job store tests: a real nats-server with a
 * deployment's authorization, and connections as any of its identities.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import { JobStore, newJobId, readJobStoreLimits, type JobRecord, type JobStoreLimits } from '@spool/coordinator';
import { busIdentities, connectNats, COORDINATOR_IDENTITY, createBusCredentials, inboxPrefix, type BusCredentials } from '@spool/shared';
import { startTestNats, type TestNats } from './nats.ts';

export interface JobBus {
  readonly nats: TestNats;
  readonly creds: BusCredentials;
  connect(identity?: string): Promise<NatsConnection>;
  /** Opens the job store as the coordinator on a new connection. */
  openStore(limits?: Partial<JobStoreLimits>, log?: CapturedLog): Promise<JobStore>;
  stop(): Promise<void>;
}

export interface CapturedLog {
  readonly lines: Array<{ level: 'info' | 'warn'; obj: object; msg?: string }>;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  return {
    lines,
    info: (obj, msg) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', obj, msg }),
  };
}

export async function startJobBus(model: string): Promise<JobBus> {
  const creds = createBusCredentials(busIdentities(1), { model, shards: 1 });
  const nats = await startTestNats({ extraConfig: creds.authorization, jetstream: true });
  const open: NatsConnection[] = [];
  const connect = async (identity = COORDINATOR_IDENTITY): Promise<NatsConnection> => {
    const seed = creds.keys.find((k) => k.identity === identity)!.seed;
    const nc = await connectNats({ servers: nats.url, name: `test-${identity}`, waitOnFirstConnect: false, auth: { identity, inboxPrefix: inboxPrefix(model, identity), seed } });
    open.push(nc);
    return nc;
  };
  return {
    nats,
    creds,
    connect,
    async openStore(limits = {}, log = captureLog()) {
      return JobStore.open(await connect(), { model, limits: { ...readJobStoreLimits({}), ...limits }, log });
    },
    async stop() {
      for (const nc of open) await nc.close().catch(() => undefined);
      await nats.stop();
    },
  };
}

/** A queued job of `caller`, made at `at` (ms). */
export function queuedJob(model: string, caller: string, at: number, prompt = 'a red fox in the snow'): JobRecord {
  return {
    v: 1,
    id: newJobId(at),
    caller,
    model,
    status: 'queued',
    progress: 0,
    params: { prompt, numFrames: 9, fps: 8, guidanceScale: 6, guidanceRescale: 0, steps: 4, seed: at % 1000 },
    createdAt: at,
    updatedAt: at,
  };
}
