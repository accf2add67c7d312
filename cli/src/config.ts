/**
 * The CLI's settings: read once from the environment (`loadConfig`), then
 * combined with the command line's `--url` and `--token` (`resolveServer`).
 * The server is `--url`, else SPOOL_URL, else the local stack's
 * http://127.0.0.1:9000; the token is `--token`, else SPOOL_TOKEN, else the
 * one `npm start` keeps in `.spool/token` of the repository the CLI belongs
 * to (found from the CLI's own files, so it works from any directory).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, deepFreeze, readInt, readOptionalString, type Env } from '@spool/shared/config';

export const DEFAULT_URL = 'http://127.0.0.1:9000';

/** The repository this CLI is part of: two folders up from `cli/src`. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where `npm start` keeps the token it made (`infra/src/token.ts`). */
export const TOKEN_FILE = path.join('.spool', 'token');

export interface CliConfig {
  /** SPOOL_URL, already checked. */
  readonly url?: string;
  /** SPOOL_TOKEN. */
  readonly token?: string;
  /** SPOOL_CLI_RECONNECT_S: how long a wait for a job keeps trying to reach a server that went away, ms. */
  readonly reconnectMs: number;
}

export function loadConfig(env: Env): CliConfig {
  const url = readOptionalString(env, 'SPOOL_URL');
  return deepFreeze({
    url: url === undefined ? undefined : checkUrl(url, 'SPOOL_URL'),
    token: readOptionalString(env, 'SPOOL_TOKEN'),
    reconnectMs: readInt(env, 'SPOOL_CLI_RECONNECT_S', 300, { min: 0, max: 86_400 }) * 1000,
  });
}

/** Where a token came from, so that a refusal can say which one was refused. */
export type TokenSource = '--token' | 'SPOOL_TOKEN' | 'file' | 'none';

export interface Server {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  readonly token?: string;
  readonly tokenSource: TokenSource;
  /** The token file looked at when neither --token nor SPOOL_TOKEN was given. */
  readonly tokenFile: string;
}

export function resolveServer(config: CliConfig, flags: { url?: string; token?: string }, root: string = REPO_ROOT): Server {
  const url = flags.url !== undefined ? checkUrl(flags.url, '--url') : (config.url ?? DEFAULT_URL);
  const tokenFile = path.join(root, TOKEN_FILE);
  if (flags.token !== undefined) {
    if (flags.token.trim() === '') throw new ConfigError('--token is empty: give the API token (the one in .spool/token, or one of SPOOL_API_TOKENS)');
    return { url, token: flags.token.trim(), tokenSource: '--token', tokenFile };
  }
  if (config.token !== undefined) return { url, token: config.token, tokenSource: 'SPOOL_TOKEN', tokenFile };
  const fromFile = readTokenFile(tokenFile);
  return fromFile === undefined ? { url, tokenSource: 'none', tokenFile } : { url, token: fromFile, tokenSource: 'file', tokenFile };
}

function readTokenFile(file: string): string | undefined {
  try {
    const token = readFileSync(file, 'utf8').trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

/** An http(s) URL without its trailing slash; a path is kept (a server behind a proxy's prefix). */
export function checkUrl(raw: string, name: string): string {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a URL: give the server's address, e.g. ${DEFAULT_URL}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${name}=${JSON.stringify(raw)} must be an http:// or https:// URL, e.g. ${DEFAULT_URL}`);
  if (u.search || u.hash) throw new ConfigError(`${name}=${JSON.stringify(raw)} must not have a query or fragment: give the server's base URL, e.g. ${DEFAULT_URL}`);
  return u.href.replace(/\/+$/, '');
}
