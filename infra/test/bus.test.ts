/**
 * The closed bus against a real nats-server configured with a deployment's
 * authorization: nobody connects without a key, and each identity can do
 * only what its role needs. What the server refuses is read back from the
 * client's own error reports (the server tells a client what it refused).
 */
import { Empty, headers as natsHeaders, type Msg, type NatsConnection, type Status } from '@nats-io/nats-core';
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
  LAUNCHER_IDENTITY,
  StageCaller,
  stageIdentity,
  stageSubject,
  tensor,
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
    nats = await startTestNats({ extraConfig: creds.authorization });
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
});
