/**
 * The coordinator's configuration: read once from the environment, checked,
 * frozen. The deployment's layout is not configured here: the coordinator
 * learns it from the workers' discovery metadata (`topology.ts`).
 */
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_MODEL,
  MODELS_DIR,
  deepFreeze,
  readInt,
  readList,
  readString,
  type Env,
} from '@spool/shared';

export interface CoordinatorConfig {
  readonly host: string;
  readonly port: number;
  /** Bearer tokens accepted by POST /generate. */
  readonly apiTokens: readonly string[];
  readonly natsUrl: string;
  readonly modelDir: string;
  /** Requests running at once. */
  readonly maxConcurrent: number;
  /** How long a denoiser call waits for calls of the same shape to merge with, ms; 0 disables step batching. */
  readonly batchWindowMs: number;
  /** Most requests merged into one denoiser call. */
  readonly maxBatch: number;
  /** Requests waiting for a slot; one more is refused with 429. */
  readonly maxQueue: number;
  /** Bound on each stage call. */
  readonly stageTimeoutMs: number;
  /** Bound on a whole request, queueing included. */
  readonly requestTimeoutMs: number;
  /** How long SIGTERM waits for requests in flight before aborting them. */
  readonly shutdownGraceMs: number;
}

export const DEFAULT_MAX_CONCURRENT = 2;
export const DEFAULT_BATCH_WINDOW_MS = 2;
export const DEFAULT_MAX_BATCH = 4;

export function loadConfig(env: Env): CoordinatorConfig {
  const apiTokens = readList(env, 'SPOOL_API_TOKENS');
  if (apiTokens.length === 0) {
    throw new ConfigError(
      'SPOOL_API_TOKENS is not set: give the coordinator at least one bearer token, e.g. ' +
        'SPOOL_API_TOKENS=$(openssl rand -hex 24) (the start command generates one when it is unset)',
    );
  }
  if (apiTokens.some((t) => /\s/.test(t))) {
    throw new ConfigError('SPOOL_API_TOKENS: a token may not contain spaces; separate tokens with commas');
  }

  const stageTimeoutMs = readInt(env, 'SPOOL_STAGE_TIMEOUT_MS', 60_000, { min: 100, max: 3_600_000 });
  const requestTimeoutMs = readInt(env, 'SPOOL_REQUEST_TIMEOUT_MS', 600_000, { min: 1_000, max: 86_400_000 });
  if (requestTimeoutMs < stageTimeoutMs) {
    throw new ConfigError(
      `SPOOL_REQUEST_TIMEOUT_MS (${requestTimeoutMs}) is shorter than SPOOL_STAGE_TIMEOUT_MS (${stageTimeoutMs}); ` +
        'a request makes many stage calls, so raise SPOOL_REQUEST_TIMEOUT_MS or lower SPOOL_STAGE_TIMEOUT_MS',
    );
  }

  return deepFreeze({
    host: readString(env, 'SPOOL_HOST', '0.0.0.0'),
    port: readInt(env, 'SPOOL_PORT', 9000, { min: 0, max: 65_535 }),
    apiTokens,
    natsUrl: readString(env, 'NATS_URL', 'nats://127.0.0.1:4222'),
    modelDir: path.resolve(readString(env, 'SPOOL_MODEL_DIR', path.join(MODELS_DIR, DEFAULT_MODEL))),
    maxConcurrent: readInt(env, 'SPOOL_MAX_CONCURRENT', DEFAULT_MAX_CONCURRENT, { min: 1, max: 1_024 }),
    batchWindowMs: readInt(env, 'SPOOL_BATCH_WINDOW_MS', DEFAULT_BATCH_WINDOW_MS, { min: 0, max: 1_000 }),
    maxBatch: readInt(env, 'SPOOL_MAX_BATCH', DEFAULT_MAX_BATCH, { min: 1, max: 64 }),
    maxQueue: readInt(env, 'SPOOL_MAX_QUEUE', 16, { min: 0, max: 100_000 }),
    stageTimeoutMs,
    requestTimeoutMs,
    shutdownGraceMs: readInt(env, 'SPOOL_SHUTDOWN_GRACE_MS', 30_000, { min: 0, max: 3_600_000 }),
  });
}
