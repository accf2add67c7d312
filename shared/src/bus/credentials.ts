/**
 * Bus credentials: one nkey pair per identity. The seed (the secret) of each
 * identity goes to a file of its own, readable by its owner only, that only
 * the processes of that identity are given; the server's configuration holds
 * the public keys. `npm start` makes a new set for every run.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { nkeys } from '@nats-io/nats-core';
import { ConfigError } from '../config.ts';
import { authorizationBlock, type IdentityKey } from './server-config.ts';
import type { Deployment } from './permissions.ts';

export interface IdentitySecret extends IdentityKey {
  readonly seed: string;
}

export interface BusCredentials {
  readonly deployment: Deployment;
  readonly keys: readonly IdentitySecret[];
  /** The nats-server `authorization` block for these keys. */
  readonly authorization: string;
}

export function createBusCredentials(identities: readonly string[], deployment: Deployment): BusCredentials {
  const keys = identities.map((identity) => {
    const kp = nkeys.createUser();
    return { identity, publicKey: kp.getPublicKey(), seed: new TextDecoder().decode(kp.getSeed()) };
  });
  return { deployment, keys, authorization: authorizationBlock(keys, deployment) };
}

/** The file that holds an identity's seed, inside a credentials folder. */
export function keyFileOf(dir: string, identity: string): string {
  return path.join(dir, `${identity}.nk`);
}

/**
 * Writes one `<identity>.nk` seed file per identity (mode 0600) and
 * `auth.conf` (the authorization block) into `dir` (mode 0700).
 */
export function writeBusCredentials(dir: string, creds: BusCredentials): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const k of creds.keys) writeFileSync(keyFileOf(dir, k.identity), `${k.seed}\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'auth.conf'), creds.authorization, { mode: 0o600 });
}

/** Reads a seed file, checking that it holds a user nkey seed (`SU…`). */
export function readSeedFile(file: string, variable = 'SPOOL_NATS_KEY_FILE'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(`${variable}=${file}: cannot read the NATS key file (${(err as Error).message})`);
  }
  try {
    const kp = nkeys.fromSeed(new TextEncoder().encode(text));
    if (!kp.getPublicKey().startsWith('U')) throw new Error('not a user key');
    return text;
  } catch {
    throw new ConfigError(`${variable}=${file}: the file does not hold a NATS user nkey seed (a line starting with "SU")`);
  }
}
