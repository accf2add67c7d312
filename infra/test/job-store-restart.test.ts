/**
 * Jobs outlive restarts. The coordinator starting again (a new connection,
 * the same buckets) finds every record and video; nats-server killed and
 * started again by the supervisor (same port, same configuration, same
 * JetStream store folder) loses none of them, and the coordinator's own
 * connection reconnects and reads them on. Stopped for good, the server's
 * guard deletes the store folder it was given.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { JobStore, readJobStoreLimits, type JobRecord } from '@spool/coordinator';
import { busIdentities, connectNats, COORDINATOR_IDENTITY, createBusCredentials, inboxPrefix, type BusCredentials } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { superviseNatsServer, type SupervisedNats } from '../src/nats-supervisor.ts';
import { captureLog, queuedJob } from './helpers/job-bus.ts';
import { TEST_JETSTREAM } from './helpers/nats.ts';

const MODEL = 'restart-test';
const T0 = 1_800_000_000_000;
const VIDEO = Uint8Array.from({ length: 2 * 1024 * 1024 + 17 }, (_, i) => (i * 7) & 255);

describe('the job store across restarts', () => {
  let creds: BusCredentials;
  let storeDir: string;
  let nats: SupervisedNats;
  const open: NatsConnection[] = [];
  let jobs: JobRecord[] = [];

  const connect = async (): Promise<NatsConnection> => {
    const seed = creds.keys.find((k) => k.identity === COORDINATOR_IDENTITY)!.seed;
    const nc = await connectNats({ servers: nats.url, name: 'test-coordinator', auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(MODEL, COORDINATOR_IDENTITY), seed } });
    open.push(nc);
    return nc;
  };
  const openStore = async (nc: NatsConnection): Promise<JobStore> => JobStore.open(nc, { model: MODEL, limits: readJobStoreLimits({}), log: captureLog() });

  /** Everything written before is there, bytes and all. */
  const expectAllThere = async (store: JobStore): Promise<void> => {
    const page = await store.listJobs('token-0');
    expect(page.jobs.map((j) => j.id)).toEqual(jobs.filter((j) => j.caller === 'token-0').map((j) => j.id).reverse());
    for (const j of jobs) expect(await store.getJob(j.caller, j.id)).toEqual(j);
    const done = jobs.find((j) => j.status === 'completed')!;
    const read = await store.getVideoBytes(done.caller, done.id);
    expect(Buffer.from(read!.bytes).equals(Buffer.from(VIDEO))).toBe(true);
    expect((await store.jobsWithStatus(['queued', 'in_progress'])).map((j) => j.id)).toEqual(jobs.filter((j) => j.status !== 'completed').map((j) => j.id));
  };

  beforeAll(async () => {
    creds = createBusCredentials(busIdentities(1), { model: MODEL, shards: 1 });
    storeDir = mkdtempSync(path.join(tmpdir(), 'spool-test-js-'));
    // The store folder is the server's to delete when it is stopped, as npm start's is, but not after a crash.
    nats = await superviseNatsServer({ extraConfig: creds.authorization, jetstream: { storeDir, ...TEST_JETSTREAM }, removeOnStop: storeDir, maxRestarts: 3 });
    const store = await openStore(await connect());
    const made = [];
    for (let i = 0; i < 4; i++) made.push(await store.createJob(queuedJob(MODEL, i === 3 ? 'token-1' : 'token-0', T0 + i)));
    await store.updateJob('token-0', made[1].id, (r) => ({ ...r, status: 'in_progress', progress: 40, startedAt: T0 + 10 }));
    await store.completeJob('token-0', made[2].id, VIDEO);
    jobs = await Promise.all(made.map(async (j) => (await store.getJob(j.caller, j.id))!));
    expect(jobs.map((j) => j.status)).toEqual(['queued', 'in_progress', 'completed', 'queued']);
  });

  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await nats?.stop();
    if (storeDir) rmSync(storeDir, { recursive: true, force: true });
  });

  it('finds every job again when the coordinator connects anew', async () => {
    for (const nc of open.splice(0)) await nc.close();
    await expectAllThere(await openStore(await connect()));
  });

  it('loses no job when nats-server is killed and started again on the same store', async () => {
    const nc = await connect();
    const store = await openStore(nc);
    const before = nats.current().serverPid();
    expect(before).toBeDefined();
    // The killed server's configuration folder (the guard's last argument names its file).
    const killedConf = path.dirname(nats.current().process.spawnargs.at(-1)!);
    expect(existsSync(killedConf)).toBe(true);
    process.kill(before!, 'SIGKILL');
    // The supervisor starts it again on the same port; the connection reconnects by itself.
    const deadline = Date.now() + 30_000;
    while (!(nats.restarts >= 1 && nc.isClosed() === false && (await store.usage().then(() => true, () => false)))) {
      if (Date.now() > deadline) throw new Error('nats-server was not started again, or the coordinator did not reconnect, within 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(nats.current().serverPid()).not.toBe(before);
    expect(existsSync(storeDir)).toBe(true);
    // Its guard deleted the configuration folder of the start that crashed; the new start has its own.
    await expect.poll(() => existsSync(killedConf)).toBe(false);
    expect(existsSync(path.dirname(nats.current().process.spawnargs.at(-1)!))).toBe(true);
    // Through the connection that lived through the restart, and through a new one.
    await expectAllThere(store);
    await expectAllThere(await openStore(await connect()));
    // And it takes new jobs.
    const next = await store.createJob(queuedJob(MODEL, 'token-0', T0 + 100));
    expect(await store.getJob('token-0', next.id)).toEqual(next);
  });

  it('deletes the store once stopped for good, as npm start stopping (or killed) does', async () => {
    for (const nc of open.splice(0)) await nc.close();
    const conf = path.dirname(nats.current().process.spawnargs.at(-1)!);
    await nats.stop();
    expect(existsSync(storeDir)).toBe(false);
    expect(existsSync(conf)).toBe(false);
  });
});
