/**
 * The worker program:
 *   node --import tsx stages/src/main.ts --role <text-encoder|denoiser|vae-decoder|video-encoder>
 *     [--shard I --shards N] [--blocks a:b] [--device cpu|cuda:N] [--threads N] [--model-dir DIR]
 */
import { ConfigError, ManifestError, stopWhenParentExits } from '@spool/shared';
import { loadConfig } from './config.ts';
import { runWorker } from './worker/lifecycle.ts';

async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ManifestError) {
      process.stderr.write(`spool worker: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  stopWhenParentExits(process.env);
  return runWorker(config, process.env);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`spool worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
