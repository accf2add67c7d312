/**
 * `npm run credentials -- --layout FILE [--model DIR] --out DIR [--force]`:
 * makes a new set of bus keys for the deployment the layout describes (the
 * model's name from its package, the shard count from the layout) and writes
 * `<identity>.nk` and `auth.conf` into DIR. An existing set is replaced only
 * with --force.
 *
 *   npm run credentials -- --layout infra/layouts/two-gpu.json --out infra/secrets
 */
import { lstatSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import {
  DEFAULT_CALL_TIMEOUT_MS,
  readInt,
  busIdentities,
  ConfigError,
  createBusCredentials,
  DEFAULT_MODEL,
  loadModelPackage,
  ManifestError,
  MODELS_DIR,
  writeBusCredentials,
} from '@spool/shared';
import { credentialsReport, existingSet, parseCredentialsArgs, refusal, type ExistingSet } from './credentials.ts';
import { loadLayout } from './layout/load.ts';
import { modelFacts } from './layout/resolve.ts';
import { REPO_ROOT } from './stack.ts';

function main(): void {
  const args = parseCredentialsArgs(process.argv.slice(2));
  const manifest = loadModelPackage(path.resolve(args.model ?? path.join(MODELS_DIR, DEFAULT_MODEL))).manifest;
  const layout = loadLayout({ file: args.layout, model: modelFacts(manifest), root: REPO_ROOT });
  const out = path.resolve(args.out);

  const existing = readExisting(out, args.out);
  if (existing.notFiles.length > 0) {
    throw new ConfigError(
      `${args.out} holds ${existing.notFiles.map((n) => `${n}/`).join(', ')}, a folder where a key file belongs ` +
        '(docker compose makes one when it starts before the keys exist): remove it (e.g. sudo rm -r ' +
        `${existing.notFiles.map((n) => path.join(args.out, n)).join(' ')}) and run this again`,
    );
  }
  if (existing.files.length > 0 && !args.force) throw new ConfigError(refusal(args.out, existing));
  // The old set goes first: a stale key of a shard that no longer exists must not linger,
  // and a file written anew gets mode 0600 whatever the old one had.
  for (const f of existing.files) unlinkSync(path.join(out, f));

  const shards = layout.shards.length;
  // Stages may answer a call for as long as the coordinator waits for it (its SPOOL_STAGE_TIMEOUT_MS).
  const callTimeoutMs = readInt(process.env, 'SPOOL_STAGE_TIMEOUT_MS', DEFAULT_CALL_TIMEOUT_MS, { min: 100, max: 3_600_000 });
  writeBusCredentials(out, createBusCredentials(busIdentities(shards), { model: manifest.name, shards, callTimeoutMs }));
  process.stdout.write(credentialsReport({ model: manifest.name, layout, out: args.out, replaced: existing.files }));
}

function readExisting(dir: string, shown: string): ExistingSet {
  let entries;
  try {
    if (!lstatSync(dir).isDirectory()) throw new ConfigError(`--out ${shown} is not a folder: name a folder for the key files (it is made if missing)`);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], notFiles: [] };
    throw err;
  }
  return existingSet(entries.map((e) => ({ name: e.name, isFile: e.isFile() || e.isSymbolicLink() })));
}

try {
  main();
} catch (err) {
  const known = err instanceof ConfigError || err instanceof ManifestError;
  process.stderr.write(`spool credentials: ${known ? (err as Error).message : String((err as Error).stack ?? err)}\n`);
  process.exit(known ? 2 : 1);
}
