/**
 * What a stack's processes are given: started from a parent whose
 * environment holds the API tokens, a decoy secret, the bus credentials
 * folder and the coordinator's key file, every worker's real environment
 * (read back from /proc/<pid>/environ, as the kernel gave it) holds none of
 * them: only its own identity's key file. The coordinator gets the tokens
 * (it checks them) and its own key file, and no decoy either.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busIdentities,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  keyFileOf,
  loadModelPackage,
  MODELS_DIR,
  stageIdentity,
  writeBusCredentials,
  type BusCredentials,
} from '@spool/shared';
import { DEFAULT_LAYOUT } from '../src/config.ts';
import { loadLayout } from '../src/layout/load.ts';
import { modelFacts } from '../src/layout/resolve.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { startTestNats, type TestNats } from './helpers/nats.ts';

const TOKENS = ['env-test-token-0123456789abcdef', 'env-test-token-second-fedcba9876'];
const DECOY = 'decoy-secret-that-no-child-may-see-5b1f0c';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;

/** A process's environment as the kernel gave it at exec. */
function environOf(pid: number): Map<string, string> {
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  return new Map(
    raw
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
}

describe("the stack's processes and their environment", () => {
  let dir: string;
  let busDir: string;
  let creds: BusCredentials;
  let nats: TestNats;
  let stack: Stack;
  const parent: Record<string, string> = {};
  const saved = new Map<string, string | undefined>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-env-'));
    busDir = path.join(dir, 'bus');
    creds = createBusCredentials(busIdentities(2), { model: manifest.name, shards: 2 });
    writeBusCredentials(busDir, creds);
    nats = await startTestNats({ extraConfig: creds.authorization });
    // What a launcher's own environment may hold: the tokens, the credentials folder, a key file, any other secret.
    Object.assign(parent, {
      SPOOL_API_TOKENS: TOKENS.join(','),
      SPOOL_DECOY_SECRET: DECOY,
      SPOOL_NATS_CREDENTIALS: busDir,
      SPOOL_NATS_KEY_FILE: keyFileOf(busDir, COORDINATOR_IDENTITY),
    });
    for (const [k, v] of Object.entries(parent)) {
      saved.set(k, process.env[k]);
      process.env[k] = v;
    }
    stack = await startStack({
      natsUrl: nats.url,
      busCredentialsDir: busDir,
      modelDir: MODEL_DIR,
      layout: loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } }),
      tokens: TOKENS,
      port: 0,
      env: { SPOOL_LOG_LEVEL: 'warn' },
    });
  });

  afterAll(async () => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await stack?.stop();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives no worker the API tokens, the decoy, the credentials folder or another identity\'s key', () => {
    const layout = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } });
    expect(layout.workers.map((w) => w.label).sort()).toEqual(stack.labels.filter((l) => l !== 'coordinator').sort());
    for (const w of layout.workers) {
      const pid = stack.pid(w.label)!;
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), w.label).toContain('stages/src/main.ts');
      const env = environOf(pid);
      const identity = stageIdentity(w.role, w.shard);
      expect(env.get('SPOOL_NATS_KEY_FILE'), w.label).toBe(keyFileOf(busDir, identity));
      expect(env.has('SPOOL_API_TOKENS'), w.label).toBe(false);
      expect(env.has('SPOOL_DECOY_SECRET'), w.label).toBe(false);
      expect(env.has('SPOOL_NATS_CREDENTIALS'), w.label).toBe(false);
      // Under any name: no token, no decoy, no seed, and no key file but its own.
      const others = creds.keys.filter((k) => k.identity !== identity);
      for (const [name, value] of env) {
        for (const secret of [...TOKENS, DECOY, ...creds.keys.map((k) => k.seed)]) expect(value.includes(secret), `${w.label} ${name}`).toBe(false);
        for (const k of others) expect(value.includes(keyFileOf(busDir, k.identity)), `${w.label} ${name} names ${k.identity}'s key`).toBe(false);
      }
    }
  });

  it('gives the coordinator the tokens and its own key file, and no decoy', () => {
    const env = environOf(stack.pid('coordinator')!);
    expect(env.get('SPOOL_API_TOKENS')).toBe(TOKENS.join(','));
    expect(env.get('SPOOL_NATS_KEY_FILE')).toBe(keyFileOf(busDir, COORDINATOR_IDENTITY));
    expect(env.has('SPOOL_DECOY_SECRET')).toBe(false);
    expect(env.has('SPOOL_NATS_CREDENTIALS')).toBe(false);
    for (const [name, value] of env) {
      expect(value.includes(DECOY), name).toBe(false);
      for (const k of creds.keys) expect(value.includes(k.seed), `${name} holds ${k.identity}'s seed`).toBe(false);
    }
  });

  it('keeps the decoy only in the parent: the test really planted it', () => {
    expect(process.env.SPOOL_DECOY_SECRET).toBe(DECOY);
    expect(process.env.SPOOL_API_TOKENS).toBe(TOKENS.join(','));
  });
});
