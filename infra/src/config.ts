/** `npm start`'s settings, from the environment, validated once. */
import path from 'node:path';
import {
  DEFAULT_MODEL,
  deepFreeze,
  MODELS_DIR,
  readInt,
  readList,
  readOptionalString,
  readString,
  type Env,
} from '@spool/shared';

export interface LaunchConfig {
  readonly host: string;
  readonly port: number;
  readonly natsUrl?: string;
  /** With NATS_URL: the folder of bus key files (`npm run credentials`) matching that server's authorization. */
  readonly natsCredentialsDir?: string;
  readonly shards: number;
  readonly modelDir: string;
  readonly tokens: readonly string[];
  readonly device: string;
  readonly logDir: string;
}

export function loadLaunchConfig(env: Env, root: string): LaunchConfig {
  const modelDir = path.resolve(readString(env, 'SPOOL_MODEL_DIR', path.join(MODELS_DIR, DEFAULT_MODEL)));
  const credentialsDir = readOptionalString(env, 'SPOOL_NATS_CREDENTIALS');
  return deepFreeze({
    host: readString(env, 'SPOOL_HOST', '0.0.0.0'),
    port: readInt(env, 'SPOOL_PORT', 9000, { min: 1, max: 65535 }),
    natsUrl: readOptionalString(env, 'NATS_URL'),
    natsCredentialsDir: credentialsDir === undefined ? undefined : path.resolve(root, credentialsDir),
    shards: readInt(env, 'SPOOL_SHARDS', 2, { min: 1, max: 64 }),
    modelDir,
    tokens: readList(env, 'SPOOL_API_TOKENS'),
    device: readString(env, 'SPOOL_DEVICE', 'cpu'),
    logDir: path.resolve(root, readString(env, 'SPOOL_LOG_DIR', '.spool/logs')),
  });
}
