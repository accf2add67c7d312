/**
 * The worker's configuration: command-line flags for the role and layout,
 * environment variables for the rest. Loaded once at start, validated,
 * frozen; an impossible layout fails here with a message that says how to fix it.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  DEFAULT_MODEL,
  deepFreeze,
  DEFAULT_HEARTBEAT_MS,
  isStageRole,
  loadModelPackage,
  readFrameLimits,
  readNatsTls,
  readOptionalString,
  readSeedFile,
  MODELS_DIR,
  readInt,
  readString,
  STAGE_ROLES,
  type ChunkLimits,
  type Env,
  type ModelManifest,
  type NatsTls,
  type StageRole,
} from '@spool/shared';
import { parseBlocks, resolveLayout, type ShardLayout } from './layout.ts';
import { parseDevice, type Device } from './runtime/device.ts';

export interface StageConfig {
  readonly role: StageRole;
  /** Shard index; 0 for every role but the denoiser. */
  readonly shard: number;
  readonly shards: number;
  /** Denoiser only: which blocks this shard holds. */
  readonly layout?: ShardLayout;
  readonly device: Device;
  readonly modelDir: string;
  readonly modelName: string;
  readonly natsUrl: string;
  /** The seed of this worker's bus identity (SPOOL_NATS_KEY_FILE); absent on a bus without authorization. */
  readonly natsSeed?: string;
  /** TLS to NATS (SPOOL_NATS_TLS_CA, SPOOL_NATS_TLS_CERT, SPOOL_NATS_TLS_KEY). */
  readonly natsTls?: NatsTls;
  /** Interval of the heartbeats sent to callers while a call is held. */
  readonly heartbeatMs: number;
  readonly ortThreads: number;
  readonly concurrency: number;
  readonly callTimeoutMs: number;
  /** The largest request frame accepted (SPOOL_MAX_FRAME_MB). */
  readonly frameLimits: ChunkLimits;
  readonly drainGraceMs: number;
  readonly logLevel: string;
  readonly ffmpegPath: string;
}

const USAGE =
  'usage: main.ts --role <' +
  STAGE_ROLES.join('|') +
  '> [--shard I --shards N] [--blocks a:b] [--device cpu|cuda:N] [--threads N] [--model-dir DIR]';

/** Reads the manifest of the model directory; replaceable in tests. */
export type ManifestReader = (dir: string) => ModelManifest;

const readManifest: ManifestReader = (dir) => loadModelPackage(dir).manifest;

export function loadConfig(env: Env, argv: readonly string[], manifestOf: ManifestReader = readManifest): StageConfig {
  const flags = parseFlags(argv);
  if (!flags.role) throw new ConfigError(`--role is required\n${USAGE}`);
  if (!isStageRole(flags.role)) throw new ConfigError(`--role ${flags.role} is not a stage role (one of: ${STAGE_ROLES.join(', ')})`);
  const role = flags.role;

  const shards = intFlag('--shards', flags.shards, 1, 1);
  const shard = intFlag('--shard', flags.shard, 0, 0);
  if (role !== 'denoiser') {
    for (const [name, value] of [['--shard', flags.shard], ['--shards', flags.shards], ['--blocks', flags.blocks]] as const) {
      if (value !== undefined) throw new ConfigError(`${name} only applies to --role denoiser (got --role ${role})`);
    }
  }
  if (shard >= shards) throw new ConfigError(`--shard ${shard} is out of range for --shards ${shards} (use 0..${shards - 1})`);
  const blocks = flags.blocks === undefined ? undefined : parseBlocks(flags.blocks);

  const modelDir = path.resolve(flags['model-dir'] ?? readString(env, 'SPOOL_MODEL_DIR', path.join(MODELS_DIR, DEFAULT_MODEL)));
  const manifest = manifestOf(modelDir);
  const layout =
    role === 'denoiser' ? resolveLayout({ shard, shards, blocks, blockCount: manifest.transformer.blocks.length }) : undefined;

  const natsUrl = readString(env, 'NATS_URL', 'nats://127.0.0.1:4222');
  for (const server of natsUrl.split(',')) {
    if (!/^((nats|tls|ws|wss):\/\/)?[^\s:/]+(:\d+)?$/.test(server.trim())) {
      throw new ConfigError(`NATS_URL=${JSON.stringify(natsUrl)} must list NATS server URLs such as nats://127.0.0.1:4222`);
    }
  }

  const keyFile = readOptionalString(env, 'SPOOL_NATS_KEY_FILE');

  return deepFreeze({
    role,
    shard,
    shards,
    layout,
    device: parseDevice(flags.device ?? 'cpu'),
    modelDir,
    modelName: manifest.name,
    natsUrl,
    natsSeed: keyFile === undefined ? undefined : readSeedFile(keyFile),
    natsTls: readNatsTls(env),
    heartbeatMs: readInt(env, 'SPOOL_HEARTBEAT_MS', DEFAULT_HEARTBEAT_MS, { min: 20, max: 60_000 }),
    // --threads (the launcher passes the layout's value) wins over SPOOL_ORT_THREADS.
    ortThreads: flags.threads === undefined ? readInt(env, 'SPOOL_ORT_THREADS', 1, { min: 1, max: 256 }) : intFlag('--threads', flags.threads, 1, 1, 256),
    concurrency: readInt(env, 'SPOOL_WORKER_CONCURRENCY', 2, { min: 1, max: 64 }),
    callTimeoutMs: readInt(env, 'SPOOL_CALL_TIMEOUT_MS', 60_000, { min: 100 }),
    frameLimits: readFrameLimits(env),
    drainGraceMs: readInt(env, 'SPOOL_DRAIN_GRACE_MS', 10_000, { min: 0 }),
    logLevel: readString(env, 'SPOOL_LOG_LEVEL', 'info'),
    ffmpegPath: readString(env, 'SPOOL_FFMPEG', 'ffmpeg'),
  } satisfies StageConfig);
}

interface Flags {
  role?: string;
  shard?: string;
  shards?: string;
  blocks?: string;
  device?: string;
  threads?: string;
  'model-dir'?: string;
}

function parseFlags(argv: readonly string[]): Flags {
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string' },
        shard: { type: 'string' },
        shards: { type: 'string' },
        blocks: { type: 'string' },
        device: { type: 'string' },
        threads: { type: 'string' },
        'model-dir': { type: 'string' },
      },
    });
    return values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
}

function intFlag(name: string, raw: string | undefined, fallback: number, min: number, max = Infinity): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${name} ${JSON.stringify(raw)} must be an integer ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}`);
  }
  return v;
}
