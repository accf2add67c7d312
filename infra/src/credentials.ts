/**
 * `npm run credentials`: a new set of bus keys for the deployment that a
 * layout describes. The pure parts: the command's arguments, which process
 * uses which key file, what counts as a set already in the folder, and the
 * report the command prints. `credentials-main.ts` does the file system.
 */
import { parseArgs } from 'node:util';
import { busIdentities, ConfigError, COORDINATOR_IDENTITY, LAUNCHER_IDENTITY, stageIdentity } from '@spool/shared';
import { formatRange } from '@spool/stages';
import { serviceName } from './compose.ts';
import type { ResolvedLayout } from './layout/types.ts';

export const CREDENTIALS_USAGE = 'usage: npm run credentials -- --layout FILE [--model DIR] --out DIR [--force]';

/** The server's half of a set: public keys and permissions, no secret. */
export const AUTH_FILE = 'auth.conf';

export interface CredentialsArgs {
  readonly layout: string;
  /** Absent: the default model package. */
  readonly model?: string;
  readonly out: string;
  /** Replace a set already in `out`. */
  readonly force: boolean;
}

export function parseCredentialsArgs(argv: readonly string[]): CredentialsArgs {
  let values: { layout?: string; model?: string; out?: string; force?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { layout: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${CREDENTIALS_USAGE}`);
  }
  if (!values.layout) throw new ConfigError(`--layout is required: the keys are made for that layout's shards (e.g. --layout infra/layouts/two-gpu.json)\n${CREDENTIALS_USAGE}`);
  if (!values.out) throw new ConfigError(`--out is required: the folder to write the key files into (e.g. --out infra/secrets, which the compose file reads)\n${CREDENTIALS_USAGE}`);
  return { layout: values.layout, ...(values.model ? { model: values.model } : {}), out: values.out, force: values.force ?? false };
}

const STAGE_WORDS: Readonly<Record<string, string>> = {
  'text-encoder': 'the text encoder',
  'vae-decoder': 'the VAE decoder',
  'video-encoder': 'the video encoder',
};

export interface KeyAssignment {
  readonly identity: string;
  /** The file's name in the folder: `<identity>.nk`. */
  readonly file: string;
  /** Which process uses it, in words. */
  readonly role: string;
  /** The services of the generated compose file that are given it. */
  readonly services: readonly string[];
}

/** Every identity of the layout's deployment, in request order, with the processes that use its key. */
export function keyAssignments(layout: ResolvedLayout): KeyAssignment[] {
  return busIdentities(layout.shards.length).map((identity) => {
    const file = `${identity}.nk`;
    if (identity === COORDINATOR_IDENTITY) return { identity, file, role: 'the coordinator (HTTP API)', services: ['coordinator'] };
    if (identity === LAUNCHER_IDENTITY) return { identity, file, role: 'npm start with NATS_URL (it watches discovery; it reads this folder as SPOOL_NATS_CREDENTIALS)', services: [] };
    const workers = layout.workers.filter((w) => stageIdentity(w.role, w.shard) === identity);
    const shard = layout.shards.find((s) => stageIdentity('denoiser', s.shard) === identity);
    const role = shard ? `denoiser shard ${shard.shard}, blocks ${formatRange(shard.blocks)}` : (STAGE_WORDS[identity] ?? identity);
    const replicas = workers.length > 1 ? `, all ${workers.length} replicas` : '';
    return { identity, file, role: `${role}${replicas}`, services: workers.map(serviceName) };
  });
}

export interface FolderEntry {
  readonly name: string;
  readonly isFile: boolean;
}

export interface ExistingSet {
  /** Files of a key set already there: `auth.conf` and `*.nk`. */
  readonly files: readonly string[];
  /** Entries with those names that are not files (docker compose makes a folder for a secret file that is missing). */
  readonly notFiles: readonly string[];
}

/** What of a key set a folder already holds; anything else in it (a README) is left alone. */
export function existingSet(entries: readonly FolderEntry[]): ExistingSet {
  const ofSet = entries.filter((e) => e.name === AUTH_FILE || e.name.endsWith('.nk'));
  return {
    files: ofSet.filter((e) => e.isFile).map((e) => e.name).sort(),
    notFiles: ofSet.filter((e) => !e.isFile).map((e) => e.name).sort(),
  };
}

/** Why the command stops when `out` holds a set and `--force` was not given. */
export function refusal(out: string, existing: ExistingSet): string {
  const keys = existing.files.filter((f) => f.endsWith('.nk')).length;
  const what = [existing.files.includes(AUTH_FILE) ? AUTH_FILE : '', keys ? `${keys} key file${keys === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and ');
  return (
    `${out} already holds a bus key set (${what}); a new set locks out every process that still uses the old keys ` +
    'once NATS runs with the new auth.conf. Run again with --force to replace it (its auth.conf and *.nk files are deleted first), or choose another --out'
  );
}

export interface ReportInput {
  readonly model: string;
  readonly layout: ResolvedLayout;
  /** The folder as the user named it. */
  readonly out: string;
  /** Files of an earlier set that were deleted (`--force`). */
  readonly replaced: readonly string[];
}

/** What the command prints: the files it wrote and where each one goes. */
export function credentialsReport(r: ReportInput): string {
  const shards = r.layout.shards.length;
  const rows: Array<[string, string]> = [
    [AUTH_FILE, 'the NATS server only, next to its nats.conf (public keys and permissions, no secret)'],
    ...keyAssignments(r.layout).map((a): [string, string] => [a.file, a.services.length ? `${a.role}; compose: ${a.services.join(', ')}` : a.role]),
  ];
  const width = Math.max(...rows.map(([f]) => f.length));
  const lines = [
    `spool credentials: a new bus key set for ${r.model} with ${shards} denoiser shard${shards === 1 ? '' : 's'} (${r.layout.source}), written to ${r.out} (folder 0700, files 0600)`,
    ...(r.replaced.length ? [`It replaces the set that was there (${r.replaced.length} files deleted): restart NATS with the new auth.conf, and every process with its new key file.`] : []),
    '',
    ...rows.map(([file, where]) => `  ${file.padEnd(width)}  ${where}`),
    '',
    'Each process is given its own identity\'s file and no other, as SPOOL_NATS_KEY_FILE=<file>',
    '(the compose file does this with docker secrets; npm start with NATS_URL takes the whole folder as SPOOL_NATS_CREDENTIALS).',
    'A host gets the files of the processes it runs and no others; the NATS host gets auth.conf alone.',
    'Copy them keeping their mode (install -m 0600, scp -p).',
  ];
  return `${lines.join('\n')}\n`;
}
