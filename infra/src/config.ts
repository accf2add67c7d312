/** `npm start`'s settings, from the environment, validated once. */
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_MODEL,
  deepFreeze,
  MODELS_DIR,
  readInt,
  readList,
  readOptionalString,
  readString,
  type Env,
} from '@spool/shared';
import { deviceLabel, parseDevice } from '@spool/stages';
import type { Shorthands } from './layout/types.ts';

export interface LaunchConfig {
  readonly host: string;
  readonly port: number;
  readonly natsUrl?: string;
  /** With NATS_URL: the folder of bus key files (`npm run credentials`) matching that server's authorization. */
  readonly natsCredentialsDir?: string;
  readonly modelDir: string;
  /** The layout file (`SPOOL_LAYOUT`). */
  readonly layoutFile: string;
  /** Overrides of the layout: `SPOOL_REPLICAS`, `SPOOL_SHARDS`, `SPOOL_DEVICE`, `SPOOL_ORT_THREADS`. */
  readonly shorthands: Shorthands;
  readonly tokens: readonly string[];
  /**
   * SPOOL_WORKER_STALL_MS: a worker process that answered discovery and then
   * stays silent this long (frozen, hung) is killed and started again; 0: never.
   */
  readonly workerStallMs: number;
  /** SPOOL_METRICS_TOKEN: the coordinator's GET /metrics takes it; given to the coordinator alone. */
  readonly metricsToken?: string;
  readonly logDir: string;
}

/**
 * Silence after which a worker is taken for frozen: twice the call-lost
 * bound (3 s), so that a worker slowed down by a loaded machine is not taken
 * for one, and within the 8 s in which a lost call is sent again.
 */
export const DEFAULT_WORKER_STALL_MS = 6_000;

/** The layout `npm start` runs when SPOOL_LAYOUT is unset, relative to the repository. */
export const DEFAULT_LAYOUT = 'infra/layout.json';

export function loadLaunchConfig(env: Env, root: string): LaunchConfig {
  const modelDir = path.resolve(readString(env, 'SPOOL_MODEL_DIR', path.join(MODELS_DIR, DEFAULT_MODEL)));
  const credentialsDir = readOptionalString(env, 'SPOOL_NATS_CREDENTIALS');
  return deepFreeze({
    host: readString(env, 'SPOOL_HOST', '0.0.0.0'),
    port: readInt(env, 'SPOOL_PORT', 9000, { min: 1, max: 65535 }),
    natsUrl: readOptionalString(env, 'NATS_URL'),
    natsCredentialsDir: credentialsDir === undefined ? undefined : path.resolve(root, credentialsDir),
    modelDir,
    layoutFile: path.resolve(root, readString(env, 'SPOOL_LAYOUT', DEFAULT_LAYOUT)),
    shorthands: readShorthands(env),
    tokens: readList(env, 'SPOOL_API_TOKENS'),
    metricsToken: readOptionalString(env, 'SPOOL_METRICS_TOKEN'),
    logDir: path.resolve(root, readString(env, 'SPOOL_LOG_DIR', '.spool/logs')),
    // 0 turns the watchdog off.
    workerStallMs: readInt(env, 'SPOOL_WORKER_STALL_MS', DEFAULT_WORKER_STALL_MS, { min: 0, max: 600_000 }),
  });
}

function readShorthands(env: Env): Shorthands {
  const optionalInt = (name: string, max: number): number | undefined =>
    readOptionalString(env, name) === undefined ? undefined : readInt(env, name, 1, { min: 1, max });
  const device = readOptionalString(env, 'SPOOL_DEVICE');
  let deviceName: string | undefined;
  if (device !== undefined) {
    try {
      deviceName = deviceLabel(parseDevice(device));
    } catch {
      throw new ConfigError(`SPOOL_DEVICE=${JSON.stringify(device)} must be cpu or cuda:N (e.g. cuda:0): the device of every model worker`);
    }
  }
  const sh = {
    replicas: optionalInt('SPOOL_REPLICAS', 64),
    shards: optionalInt('SPOOL_SHARDS', 64),
    device: deviceName,
    threads: optionalInt('SPOOL_ORT_THREADS', 256),
  };
  return Object.fromEntries(Object.entries(sh).filter(([, v]) => v !== undefined)) as Shorthands;
}
