/**
 * The closed bus against a real nats-server configured with a deployment's
 * authorization: nobody connects without a key, and each identity can do
 * only what its role needs. What the server refuses is read back from the
 * client's own error reports (the server tells a client what it refused).
 * The server runs JetStream, as spool's own does: the coordinator keeps its
 * jobs there, and no other identity can reach them.
 */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Empty, headers as natsHeaders, type Msg, type NatsConnection, type Status } from '@nats-io/nats-core';
import { Objm } from '@nats-io/obj';
import { JobStore, newJobId, readJobStoreLimits, type JobRecord } from '@spool/coordinator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busIdentities,
  CHUNK_HEADER,
  chunkSubjects,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  decodeFrame,
  encodeFrame,
  inboxPrefix,
  jobsBucket,
  LAUNCHER_IDENTITY,
  StageCaller,
  stageIdentity,
  stageSubject,
  tensor,
  videosBucket,
  type BusCredentials,
} from '@spool/shared';
import { startTestNats, type TestNats } from './helpers/nats.ts';

const MODEL = 'bus-test';

describe('the bus', () => {
  let nats: TestNats;
  let creds: BusCredentials;
  const open: NatsConnection[] = [];

  const connectAs = async (identity: string): Promise<NatsConnection> => {
    const seed = creds.keys.find((k) => k.identity === identity)!.seed;
    const nc = await connectNats({ servers: nats.url, name: `test-${identity}`, auth: { identity, inboxPrefix: inboxPrefix(MODEL, identity), seed } });
    open.push(nc);
    return nc;
  };

  /** The permission errors the server reports to a connection from now on. */
  const refusals = (nc: NatsConnection): string[] => {
    const seen: string[] = [];
    void (async () => {
      for await (const s of nc.status() as AsyncIterable<Status>) if (s.type === 'error') seen.push(s.error.message);
    })();
    return seen;
  };

  const settle = async (nc: NatsConnection): Promise<void> => {
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
  };

  beforeAll(async () => {
    creds = createBusCredentials(busIdentities(2), { model: MODEL, shards: 2 });
    nats = await startTestNats({ extraConfig: creds.authorization, jetstream: true });
  });

  afterAll(async () => {
    for (const nc of open) await nc.close().catch(() => undefined);
    await nats?.stop();
  });

  it('refuses a client without credentials, and one with a key it does not know', async () => {
    await expect(connectNats({ servers: nats.url, name: 'anonymous', waitOnFirstConnect: false })).rejects.toThrow(/Authorization Violation/i);
    const stranger = createBusCredentials(['coordinator', 'launcher', 'text-encoder', 'denoise-0', 'vae-decoder', 'video-encoder'], { model: MODEL, shards: 1 });
    const seed = stranger.keys[0].seed;
    await expect(
      connectNats({ servers: nats.url, name: 'stranger', waitOnFirstConnect: false, auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(MODEL, COORDINATOR_IDENTITY), seed } }),
    ).rejects.toThrow(/Authorization Violation/i);
  });

  it("does not let a denoiser shard read every subject or publish past its next hop", async () => {
    const shard0 = await connectAs(stageIdentity('denoiser', 0));
    const refused = refusals(shard0);
    const sniff = shard0.subscribe('spool.>');
    shard0.publish(stageSubject(MODEL, 'video-encoder'), 'forged frames');
    shard0.publish(stageSubject(MODEL, 'text-encoder'), 'forged prompt');
    shard0.publish(stageSubject(MODEL, 'denoiser', 1), 'its next hop');
    await settle(shard0);
    expect(refused.some((e) => /Permissions Violation for Subscription to "spool\.>"/.test(e))).toBe(true);
    expect(refused.some((e) => e.includes(`Permissions Violation for Publish to "${stageSubject(MODEL, 'video-encoder')}"`))).toBe(true);
    expect(refused.some((e) => e.includes(`Permissions Violation for Publish to "${stageSubject(MODEL, 'text-encoder')}"`))).toBe(true);
    expect(refused.some((e) => e.includes(stageSubject(MODEL, 'denoiser', 1)))).toBe(false);
    expect(sniff.isClosed()).toBe(true);
  });

  it('keeps prompts from a worker that is not their stage', async () => {
    const shard1 = await connectAs(stageIdentity('denoiser', 1));
    const refused = refusals(shard1);
    const sniff = shard1.subscribe(stageSubject(MODEL, 'text-encoder'));
    await settle(shard1);
    expect(refused.some((e) => e.includes(`Subscription to "${stageSubject(MODEL, 'text-encoder')}"`))).toBe(true);
    expect(sniff.isClosed()).toBe(true);
  });

  it('delivers only the real answer to a coordinator call: a forged reply is refused at the server', async () => {
    const coordinator = await connectAs(COORDINATOR_IDENTITY);
    const textEncoder = await connectAs(stageIdentity('text-encoder'));
    const forgers = [await connectAs(stageIdentity('video-encoder')), await connectAs(stageIdentity('denoiser', 1)), await connectAs(stageIdentity('vae-decoder'))];
    const refused = forgers.map(refusals);

    // The text encoder holds the call until the forgers have tried, then answers.
    let call!: Msg;
    const arrived = new Promise<void>((resolve) =>
      textEncoder.subscribe(stageSubject(MODEL, 'text-encoder'), {
        callback: (_err, m) => {
          call = m;
          resolve();
        },
      }),
    );
    await textEncoder.flush();
    const caller = new StageCaller(coordinator, { lostAfterMs: 10_000 });
    const answer = caller.call(stageSubject(MODEL, 'text-encoder'), { meta: { prompts: ['a secret prompt'] }, tensors: {} }, { stage: 'text-encoder', timeoutMs: 10_000 });
    await arrived;
    expect(call.reply?.startsWith(`${inboxPrefix(MODEL, COORDINATOR_IDENTITY)}.calls.`)).toBe(true);
    const forged = encodeFrame({ meta: { forged: true }, tensors: { text_embeddings: tensor('float32', [1], Float32Array.of(666)) } });
    for (const f of forgers) {
      f.publish(call.reply!, forged);
      await settle(f);
    }
    call.respond(encodeFrame({ meta: { forged: false }, tensors: { text_embeddings: tensor('float32', [1], Float32Array.of(1)) } }));
    const got = await answer;
    caller.close();
    expect(got.meta).toEqual({ forged: false });
    expect(Array.from(got.tensors.text_embeddings.data as Float32Array)).toEqual([1]);
    for (const r of refused) expect(r.some((e) => e.includes(`Permissions Violation for Publish to "${call.reply}"`))).toBe(true);
    // The prompt reached its stage intact.
    expect(decodeFrame(call.data).meta).toEqual({ prompts: ['a secret prompt'] });
  });

  it("does not let a reply's chunk announce steer the coordinator's pulls: not to a stage, not where the bus refuses them", async () => {
    const coordinator = await connectAs(COORDINATOR_IDENTITY);
    const textEncoder = await connectAs(stageIdentity('text-encoder'));
    // Answers each call with an announce naming the next of these as its fetch subject.
    const fetchSubjects = [stageSubject(MODEL, 'denoiser', 0), `${chunkSubjects(inboxPrefix(MODEL, LAUNCHER_IDENTITY))}.x`];
    let answered = 0;
    const sub = textEncoder.subscribe(stageSubject(MODEL, 'text-encoder'), {
      callback: (_err, m) => {
        const h = natsHeaders();
        h.set(CHUNK_HEADER, `100/10/${fetchSubjects[answered++]}`);
        m.respond(Empty, { headers: h });
      },
    });
    await textEncoder.flush();
    const caller = new StageCaller(coordinator, { lostAfterMs: 10_000 });
    const call = () => caller.call(stageSubject(MODEL, 'text-encoder'), { meta: { prompts: ['a cat'] }, tensors: {} }, { stage: 'text-encoder', timeoutMs: 10_000 }).catch((e: unknown) => e);
    const toStage = await call();
    expect(toStage).toMatchObject({ code: 'SPOOL_ERR_BAD_MESSAGE', stage: 'text-encoder' });
    expect((toStage as Error).message).toMatch(/names fetch subject "spool\.bus-test\.denoise\.0"; its chunks are pulled only from <inbox prefix>\.chunks\.<id>/);
    // A chunk subject, but of an identity the coordinator may not pull from: the bus refuses, and that is no lost call to send again.
    const refused = await call();
    expect(refused).toMatchObject({ code: 'SPOOL_ERR_BAD_MESSAGE', stage: 'text-encoder' });
    expect((refused as Error).message).toMatch(/names fetch subject "_spool\.in\.bus-test\.launcher\.chunks\.x", which the bus does not let this identity pull from/);
    caller.close();
    sub.unsubscribe();
  });

  describe('jobs in JetStream', () => {
    const silent = { info: () => undefined, warn: () => undefined };
    const job = (id: string): JobRecord => ({
      v: 1,
      id,
      caller: 'token-0',
      model: MODEL,
      status: 'completed',
      progress: 100,
      params: { prompt: 'a private prompt', numFrames: 9, fps: 8, guidanceScale: 6, guidanceRescale: 0, steps: 4, seed: 7 },
      createdAt: 1,
      updatedAt: 1,
      video: { bytes: 4, contentType: 'video/mp4' },
    });
    const id = newJobId();
    /** A JetStream client that gives up quickly: a refused request has no answer to wait for. */
    const js = (nc: NatsConnection): JetStreamClient => jetstream(nc, { checkAPI: false, timeout: 2_000 });

    beforeAll(async () => {
      const coordinator = await connectAs(COORDINATOR_IDENTITY);
      const store = await JobStore.open(coordinator, { model: MODEL, limits: readJobStoreLimits({}), log: silent });
      await store.createJob(job(id));
      await store.putVideo('token-0', id, Uint8Array.of(1, 2, 3, 4));
    });

    it('lets the coordinator keep job records and videos in its own two buckets, with nothing refused', async () => {
      const coordinator = await connectAs(COORDINATOR_IDENTITY);
      const refused = refusals(coordinator);
      const store = await JobStore.open(coordinator, { model: MODEL, limits: readJobStoreLimits({}), log: silent });
      expect(store.buckets).toEqual({ records: jobsBucket(MODEL), videos: videosBucket(MODEL) });
      expect((await store.getJob('token-0', id))?.params.prompt).toBe('a private prompt');
      expect((await store.listJobs('token-0')).jobs.map((j) => j.id)).toEqual([id]);
      expect(Array.from((await store.getVideoBytes('token-0', id))!.bytes)).toEqual([1, 2, 3, 4]);
      const other = newJobId();
      await store.createJob(job(other));
      await store.updateJob('token-0', other, (r) => ({ ...r, progress: 50, status: 'in_progress', video: undefined }));
      await store.putVideo('token-0', other, Uint8Array.of(5));
      expect(await store.deleteJob('token-0', other)).toBe(true);
      expect(await store.usage()).toMatchObject({ records: { count: expect.any(Number) } });
      await settle(coordinator);
      expect(refused).toEqual([]);
    });

    it("keeps the coordinator to its own model's buckets", async () => {
      const coordinator = await connectAs(COORDINATOR_IDENTITY);
      await expect(new Kvm(js(coordinator)).create(jobsBucket('another-model'))).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.INFO\.KV_spool-jobs-another-model"/);
      await expect(new Objm(js(coordinator)).create(videosBucket('another-model'))).rejects.toThrow(/Permissions Violation/);
    });

    for (const identity of [stageIdentity('video-encoder'), stageIdentity('denoiser', 0), LAUNCHER_IDENTITY]) {
      it(`gives ${identity} no way to read job records or videos, to forge them, or to make a stream`, async () => {
        const nc = await connectAs(identity);
        const refused = refusals(nc);
        // Reading through the clients: a record by its key, the keys, a video.
        const kv = await new Kvm(js(nc)).open(jobsBucket(MODEL));
        await expect(kv.get(`token-0.${id}`)).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.MSG\.GET\.KV_spool-jobs-bus-test"/);
        const direct = await new Kvm(js(nc)).open(jobsBucket(MODEL), { allow_direct: true });
        await expect(direct.get(`token-0.${id}`)).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.DIRECT\.GET\.KV_spool-jobs-bus-test\./);
        await expect(kv.keys()).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.CONSUMER\.CREATE\.KV_spool-jobs-bus-test\./);
        const os = await new Objm(js(nc)).open(videosBucket(MODEL), false);
        await expect(os.getBlob(`token-0.${id}`)).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.MSG\.GET\.OBJ_spool-videos-bus-test"/);
        // Making a stream of its own, say one that would capture the coordinator's record writes.
        const jsm = await js(nc).jetstreamManager(false);
        await expect(jsm.streams.add({ name: 'SNOOP', subjects: ['snoop.>'] })).rejects.toThrow(/Permissions Violation for Publish to "\$JS\.API\.STREAM\.CREATE\.SNOOP"/);
        // Watching the writes as they happen, or forging a record.
        const sniffRecords = nc.subscribe(`$KV.${jobsBucket(MODEL)}.>`);
        const sniffVideos = nc.subscribe(`$O.${videosBucket(MODEL)}.>`);
        nc.publish(`$KV.${jobsBucket(MODEL)}.token-0.${newJobId()}`, '{"v":1}');
        await settle(nc);
        expect(refused.some((e) => e.includes(`Subscription to "$KV.${jobsBucket(MODEL)}.>"`))).toBe(true);
        expect(refused.some((e) => e.includes(`Subscription to "$O.${videosBucket(MODEL)}.>"`))).toBe(true);
        expect(refused.some((e) => e.includes(`Publish to "$KV.${jobsBucket(MODEL)}.token-0.`))).toBe(true);
        expect(sniffRecords.isClosed() && sniffVideos.isClosed()).toBe(true);
      });
    }
  });
});
