/**
 * The coordinator's configuration: read once from the environment, checked,
 * frozen. The deployment's layout is not configured here: the coordinator
 * learns it from the workers' discovery metadata (`topology.ts`).
 */
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_MODEL,
  MODELS_DIR,
  deepFreeze,
  readEnum,
  readInt,
  readFrameLimits,
  readList,
  readNatsTls,
  readOptionalString,
  readSeedFile,
  readString,
  type ChunkLimits,
  type Env,
  type ModelManifest,
  type NatsTls,
} from '@spool/shared';
import { DEFAULT_MAX_ATTEMPTS } from './jobs/job-service.ts';
import { readJobStoreLimits, type JobStoreLimits } from './jobs/limits.ts';

export interface CoordinatorConfig {
  readonly host: string;
  readonly port: number;
  /** Bearer tokens accepted by POST /generate. */
  readonly apiTokens: readonly string[];
  /** The bearer token GET /metrics takes (SPOOL_METRICS_TOKEN); open, like /health, when absent. */
  readonly metricsToken?: string;
  readonly natsUrl: string;
  /** The seed of the coordinator's bus identity (SPOOL_NATS_KEY_FILE); absent on a bus without authorization. */
  readonly natsSeed?: string;
  /** TLS to NATS (SPOOL_NATS_TLS_CA, SPOOL_NATS_TLS_CERT, SPOOL_NATS_TLS_KEY). */
  readonly natsTls?: NatsTls;
  /** Silence from the worker holding a call after which the call is lost and sent again (SPOOL_CALL_LOST_MS). */
  readonly callLostMs: number;
  /** Tries of one stage call at most (SPOOL_RETRY_ATTEMPTS). */
  readonly retryAttempts: number;
  /** Retries of a lost call start only this long after its first failure (SPOOL_RETRY_BUDGET_MS). */
  readonly retryBudgetMs: number;
  readonly modelDir: string;
  /** Requests running at once. */
  readonly maxConcurrent: number;
  /** How long a denoiser call waits for calls of the same shape to merge with, ms; 0 disables step batching. */
  readonly batchWindowMs: number;
  /** Most requests merged into one denoiser call. */
  readonly maxBatch: number;
  /** Requests waiting for a slot; one more is refused with 429. */
  readonly maxQueue: number;
  /** Requests one token may have running and waiting together; one more is refused with 429. */
  readonly maxPerToken: number;
  /** Requests a minute one token may send once its burst is spent; 0 turns the rate limit off. */
  readonly rateLimitPerMin: number;
  /** Requests one token may send back to back. */
  readonly rateBurst: number;
  /** Bound on each stage call. */
  readonly stageTimeoutMs: number;
  /** The largest reply frame accepted from a stage (SPOOL_MAX_FRAME_MB). */
  readonly frameLimits: ChunkLimits;
  /** Bound on a whole request, queueing included. */
  readonly requestTimeoutMs: number;
  /**
   * How long a stop waits for the requests it had admitted (SPOOL_DRAIN_S);
   * the default is the request deadline, which every admitted request, queued
   * or running, meets or fails by.
   */
  readonly drainMs: number;
  /**
   * Whether the request's root span carries its prompt and negative prompt
   * (`spool.prompt`, `spool.negative_prompt`; SPOOL_TRACE_PROMPTS=1). Off by
   * default: prompts may be private, and traces travel to other systems.
   */
  readonly tracePrompts: boolean;
  /** The job store's age and size limits (SPOOL_JOBS_MAX_AGE_H, SPOOL_JOBS_MAX_MB, SPOOL_JOBS_RECORDS_MB). */
  readonly jobs: JobStoreLimits;
  /**
   * Runs of a job at most, the first included (SPOOL_JOBS_MAX_ATTEMPTS): a job
   * found running at start runs again until it has had this many, then
   * fails with SPOOL_ERR_JOB_INTERRUPTED (one found queued runs again
   * without counting).
   */
  readonly jobsMaxAttempts: number;
}

export const DEFAULT_MAX_CONCURRENT = 2;
export const DEFAULT_BATCH_WINDOW_MS = 2;
export const DEFAULT_MAX_BATCH = 4;
export const DEFAULT_MAX_QUEUE = 16;
/** Far above what one person sends by hand or a script that waits for its videos; it stops a runaway loop. */
export const DEFAULT_RATE_LIMIT_PER_MIN = 120;
export const DEFAULT_RATE_BURST = 60;

/**
 * Requests one token may hold by default: half of the running and waiting
 * places (rounded up), so one caller cannot take every place and another
 * always finds room. With a single token there is no one to share with, so
 * it may hold them all.
 */
export function defaultMaxPerToken(maxConcurrent: number, maxQueue: number, tokens: number): number {
  const places = maxConcurrent + maxQueue;
  return tokens > 1 ? Math.ceil(places / 2) : places;
}

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

  const metricsToken = readOptionalString(env, 'SPOOL_METRICS_TOKEN');
  if (metricsToken !== undefined && /\s/.test(metricsToken)) {
    throw new ConfigError('SPOOL_METRICS_TOKEN: the token may not contain spaces; set one token, e.g. SPOOL_METRICS_TOKEN=$(openssl rand -hex 24)');
  }

  const stageTimeoutMs = readInt(env, 'SPOOL_STAGE_TIMEOUT_MS', 60_000, { min: 100, max: 3_600_000 });
  const requestTimeoutMs = readInt(env, 'SPOOL_REQUEST_TIMEOUT_MS', 600_000, { min: 1_000, max: 86_400_000 });
  if (requestTimeoutMs < stageTimeoutMs) {
    throw new ConfigError(
      `SPOOL_REQUEST_TIMEOUT_MS (${requestTimeoutMs}) is shorter than SPOOL_STAGE_TIMEOUT_MS (${stageTimeoutMs}); ` +
        'a request makes many stage calls, so raise SPOOL_REQUEST_TIMEOUT_MS or lower SPOOL_STAGE_TIMEOUT_MS',
    );
  }

  const heartbeatMs = readInt(env, 'SPOOL_HEARTBEAT_MS', DEFAULT_HEARTBEAT_MS, { min: 20, max: 60_000 });
  const callLostMs = readInt(env, 'SPOOL_CALL_LOST_MS', Math.max(3_000, 4 * heartbeatMs), { min: 100, max: 600_000 });
  if (callLostMs < 3 * heartbeatMs) {
    throw new ConfigError(
      `SPOOL_CALL_LOST_MS (${callLostMs}) must be at least three heartbeats (3 × SPOOL_HEARTBEAT_MS = ${3 * heartbeatMs}): ` +
        'a worker that is only a little late would look lost; raise SPOOL_CALL_LOST_MS or lower SPOOL_HEARTBEAT_MS',
    );
  }
  const keyFile = readOptionalString(env, 'SPOOL_NATS_KEY_FILE');
  const maxConcurrent = readInt(env, 'SPOOL_MAX_CONCURRENT', DEFAULT_MAX_CONCURRENT, { min: 1, max: 1_024 });
  const maxQueue = readInt(env, 'SPOOL_MAX_QUEUE', DEFAULT_MAX_QUEUE, { min: 0, max: 100_000 });
  const fairness = readFairness(env, maxConcurrent, maxQueue, apiTokens.length);

  return deepFreeze({
    host: readString(env, 'SPOOL_HOST', '0.0.0.0'),
    port: readInt(env, 'SPOOL_PORT', 9000, { min: 0, max: 65_535 }),
    apiTokens,
    metricsToken,
    natsUrl: readString(env, 'NATS_URL', 'nats://127.0.0.1:4222'),
    natsSeed: keyFile === undefined ? undefined : readSeedFile(keyFile),
    natsTls: readNatsTls(env),
    callLostMs,
    retryAttempts: readInt(env, 'SPOOL_RETRY_ATTEMPTS', 5, { min: 1, max: 100 }),
    retryBudgetMs: readInt(env, 'SPOOL_RETRY_BUDGET_MS', 8_000, { min: 0, max: 3_600_000 }),
    modelDir: path.resolve(readString(env, 'SPOOL_MODEL_DIR', path.join(MODELS_DIR, DEFAULT_MODEL))),
    maxConcurrent,
    batchWindowMs: readInt(env, 'SPOOL_BATCH_WINDOW_MS', DEFAULT_BATCH_WINDOW_MS, { min: 0, max: 1_000 }),
    maxBatch: readInt(env, 'SPOOL_MAX_BATCH', DEFAULT_MAX_BATCH, { min: 1, max: 64 }),
    maxQueue,
    ...fairness,
    stageTimeoutMs,
    frameLimits: readFrameLimits(env),
    requestTimeoutMs,
    drainMs: 1000 * readInt(env, 'SPOOL_DRAIN_S', Math.ceil(requestTimeoutMs / 1000), { min: 0, max: 86_400 }),
    tracePrompts: readEnum(env, 'SPOOL_TRACE_PROMPTS', ['0', '1'], '0') === '1',
    jobs: readJobStoreLimits(env),
    jobsMaxAttempts: readInt(env, 'SPOOL_JOBS_MAX_ATTEMPTS', DEFAULT_MAX_ATTEMPTS, { min: 1, max: 100 }),
  });
}

/** The per-token limits: places held, and a token bucket of requests. */
function readFairness(env: Env, maxConcurrent: number, maxQueue: number, tokens: number): Pick<CoordinatorConfig, 'maxPerToken' | 'rateLimitPerMin' | 'rateBurst'> {
  const places = maxConcurrent + maxQueue;
  const maxPerToken = readInt(env, 'SPOOL_MAX_PER_TOKEN', defaultMaxPerToken(maxConcurrent, maxQueue, tokens), { min: 1, max: 101_024 });
  if (maxPerToken > places) {
    throw new ConfigError(
      `SPOOL_MAX_PER_TOKEN (${maxPerToken}) is more than SPOOL_MAX_CONCURRENT + SPOOL_MAX_QUEUE (${maxConcurrent} + ${maxQueue} = ${places}), ` +
        `so no token could ever reach it; set it to at most ${places}, or leave it unset for ${defaultMaxPerToken(maxConcurrent, maxQueue, tokens)}`,
    );
  }
  return {
    maxPerToken,
    rateLimitPerMin: readInt(env, 'SPOOL_RATE_LIMIT', DEFAULT_RATE_LIMIT_PER_MIN, { min: 0, max: 1_000_000 }),
    rateBurst: readInt(env, 'SPOOL_RATE_BURST', DEFAULT_RATE_BURST, { min: 1, max: 1_000_000 }),
  };
}
