/**
 * NATS over TLS, as infra/DEPLOY.md sets it up for workers on other hosts:
 * a CA and a server certificate made with openssl, nats-server with `tls {}`
 * and the bus's authorization, and a real text-encoder worker process that
 * reaches it at a tls:// URL trusting that CA (SPOOL_NATS_TLS_CA).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busIdentities,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  discoverWorkers,
  inboxPrefix,
  keyFileOf,
  loadModelPackage,
  MODELS_DIR,
  StageCaller,
  stageSubject,
  writeBusCredentials,
  type BusCredentials,
} from '@spool/shared';
import { startNatsServer, type NatsServerHandle } from '../src/nats-server.ts';
import { REPO_ROOT } from '../src/stack.ts';
import { makeCertificates } from './helpers/certs.ts';

const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const MODEL = loadModelPackage(MODEL_DIR).manifest.name;

describe('NATS over TLS', () => {
  let dir: string;
  let creds: BusCredentials;
  let nats: NatsServerHandle;
  let url: string;
  let worker: ChildProcess | undefined;
  let coordinator: NatsConnection | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-tls-'));
    makeCertificates(dir);
    creds = createBusCredentials(busIdentities(2), { model: MODEL, shards: 2 });
    writeBusCredentials(path.join(dir, 'bus'), creds);
    nats = await startNatsServer({
      extraConfig: `tls {\n  cert_file: "${path.join(dir, 'server.pem')}"\n  key_file: "${path.join(dir, 'server.key')}"\n}\n${creds.authorization}`,
    });
    url = nats.url.replace('nats://', 'tls://');
  });

  afterAll(async () => {
    worker?.kill('SIGKILL');
    await coordinator?.close();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a client that does not trust the CA, and one that does not speak TLS', async () => {
    const seed = creds.keys.find((k) => k.identity === COORDINATOR_IDENTITY)!.seed;
    const auth = { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(MODEL, COORDINATOR_IDENTITY), seed };
    await expect(connectNats({ servers: url, name: 'untrusting', auth, waitOnFirstConnect: false })).rejects.toThrow(/certificate/i);
    await expect(connectNats({ servers: nats.url, name: 'plain', auth, waitOnFirstConnect: false, tls: null as never })).rejects.toThrow();
  });

  it('serves a real worker at a tls:// URL', async () => {
    worker = spawn(process.execPath, ['--import', 'tsx', 'stages/src/main.ts', '--role', 'text-encoder', '--model-dir', MODEL_DIR], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        NATS_URL: url,
        SPOOL_NATS_TLS_CA: path.join(dir, 'ca.pem'),
        SPOOL_NATS_KEY_FILE: keyFileOf(path.join(dir, 'bus'), 'text-encoder'),
        SPOOL_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const seed = creds.keys.find((k) => k.identity === COORDINATOR_IDENTITY)!.seed;
    coordinator = await connectNats({
      servers: url,
      name: 'test-coordinator',
      auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(MODEL, COORDINATOR_IDENTITY), seed },
      tls: { caFile: path.join(dir, 'ca.pem') },
    });
    for (let i = 0; i < 300 && !(await discoverWorkers(coordinator, 300)).some((w) => w.role === 'text-encoder'); i++) {
      if (worker.exitCode !== null) throw new Error(`the worker exited (${worker.exitCode})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const caller = new StageCaller(coordinator, { lostAfterMs: 5_000 });
    const reply = await caller.call(stageSubject(MODEL, 'text-encoder'), { meta: { prompts: ['', 'a red circle'] }, tensors: {} }, { stage: 'text-encoder', timeoutMs: 30_000 });
    caller.close();
    expect(reply.tensors.text_embeddings.shape[0]).toBe(2);
  });
});
