/**
 * Hostile messages to real workers: a real stack of cogvideox-tiny on a closed
 * bus, and this test holding the keys of the identities that may send each
 * worker its frames (the coordinator for the entry stages, denoise-0 for
 * denoise.1, the VAE for the video encoder). Every worker subject gets bytes
 * that are not a frame, cut and lying frames, tensors of the wrong dtype,
 * rank and sizes, meta of the wrong types, chunk announces that lie or whose
 * sender vanished or never answers, and frames over SPOOL_MAX_FRAME_MB. Each
 * must be answered with the right typed error naming what is wrong, before a
 * bound set by the workers' SPOOL_CALL_TIMEOUT_MS; afterwards every worker is
 * the same process and the stack still makes a valid MP4.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nuid } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  busIdentities,
  chunkSubjects,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  discoverWorkers,
  encodeFrame,
  inboxPrefix,
  loadModelPackage,
  MODELS_DIR,
  SpoolError,
  StageCaller,
  stageIdentity,
  stageLabel,
  stageSubject,
  writeBusCredentials,
  type BusCredentials,
  type Meta,
} from '@spool/shared';
import { DEFAULT_LAYOUT } from '../src/config.ts';
import { loadLayout } from '../src/layout/load.ts';
import { modelFacts } from '../src/layout/resolve.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { probe } from './helpers/media.ts';
import { announced, call, cutAfterEnvelope, servingChunks, withMeta, withTensors, zeros, type Send, type Sender, type Target } from './helpers/hostile-sends.ts';
import { startTestNats, type TestNats } from './helpers/nats.ts';

const TOKEN = 'hostile-token-0123456789abcdef';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;
const MODEL = manifest.name;
const MiB = 1024 * 1024;
/** The workers' bound on each chunk pull (SPOOL_CALL_TIMEOUT_MS), far below the 60 s default. */
const CALL_TIMEOUT_MS = 3_000;
/** Every hostile call is answered within this, or it fails as a timeout (not the code it expects). */
const ANSWER_BOUND_MS = CALL_TIMEOUT_MS + 5_000;
/** The workers' frame limit (SPOOL_MAX_FRAME_MB), under the server's max payload so both paths meet it. */
const MAX_FRAME_MB = 1;
const MAX_PAYLOAD = 2 * MiB;

// The tiny model's geometry: latents of 4 channels at 8×8, 16 text tokens of 32, hidden size 64, 2×2 patches.
const LAT = manifest.video.height / manifest.latent.spatial_compression;
const TOKENS = manifest.tokenizer.max_tokens;
const TEXT_HIDDEN = manifest.text_encoder.hidden_size;
const HIDDEN = manifest.transformer.hidden_size;
const PATCHES = (LAT / manifest.transformer.patch_size) ** 2;
const CHANNELS = manifest.latent.channels;

const videoMeta = { fps: 8, num_frames: 8, width: 256, height: 256 };
const TARGETS: readonly Target[] = [
  {
    stage: 'text-encoder',
    subject: stageSubject(MODEL, 'text-encoder'),
    sender: COORDINATOR_IDENTITY,
    upstream: 'the coordinator',
    good: () => ({ meta: { prompts: ['a red circle', ''] }, tensors: {} }),
  },
  {
    stage: 'denoise.0',
    subject: stageSubject(MODEL, 'denoiser', 0),
    sender: COORDINATOR_IDENTITY,
    upstream: 'the coordinator',
    good: () => ({
      meta: {},
      tensors: { sample: zeros('float32', [2, 2, CHANNELS, LAT, LAT]), encoder_hidden_states: zeros('float32', [2, TOKENS, TEXT_HIDDEN]), timestep: zeros('float32', [2]) },
    }),
  },
  {
    stage: 'denoise.1',
    subject: stageSubject(MODEL, 'denoiser', 1),
    sender: stageIdentity('denoiser', 0),
    upstream: 'denoise.0',
    good: () => ({ meta: {}, tensors: { hidden_states: zeros('float32', [2, TOKENS + 2 * PATCHES, HIDDEN]), temb: zeros('float32', [2, HIDDEN]) } }),
  },
  {
    stage: 'vae-decoder',
    subject: stageSubject(MODEL, 'vae-decoder'),
    sender: COORDINATOR_IDENTITY,
    upstream: 'the coordinator',
    good: () => ({ meta: {}, tensors: { latents: zeros('float32', [1, 2, CHANNELS, LAT, LAT]) } }),
  },
  {
    stage: 'video-encoder',
    subject: stageSubject(MODEL, 'video-encoder'),
    sender: stageIdentity('vae-decoder'),
    upstream: 'vae-decoder',
    good: () => ({ meta: { ...videoMeta }, tensors: { frames: zeros('uint8', [1, 8, 32, 32, 3]) } }),
  },
];

interface Case {
  readonly name: string;
  readonly send: Send;
  readonly code: 'SPOOL_ERR_BAD_MESSAGE' | 'SPOOL_ERR_CALL_LOST';
  readonly message: RegExp;
  /** The stage that answers; the target's own by default. */
  readonly stage?: string;
}

const over = (from: string): RegExp => new RegExp(`${from}a frame of \\d+ bytes is over the limit of ${MAX_FRAME_MB * MiB} bytes \\(SPOOL_MAX_FRAME_MB=${MAX_FRAME_MB}\\)`);

/** What every worker must refuse, whatever its stage. */
const EVERY_STAGE: readonly Case[] = [
  { name: 'bytes that are not a frame', send: call(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n')), code: 'SPOOL_ERR_BAD_MESSAGE', message: /not a spool frame \(bad magic\)/ },
  { name: 'an empty message', send: call(new Uint8Array(0)), code: 'SPOOL_ERR_BAD_MESSAGE', message: /not a spool frame/ },
  {
    name: 'a frame cut in its envelope',
    send: (t, s) => {
      const frame = encodeFrame(t.good());
      return call(frame.slice(0, 8 + Math.floor(new DataView(frame.buffer).getUint32(4, true) / 2)))(t, s);
    },
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /truncated frame envelope: it declares \d+ bytes, the frame has \d+ after its prefix/,
  },
  {
    name: 'a tensor declared far larger than the bytes',
    // 1 MiB declared, 64 bytes sent.
    send: call(cutAfterEnvelope(encodeFrame({ meta: {}, tensors: { x: zeros('float32', [MiB / 4]) } }), 64)),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /tensor "x": bytes 0\.\.1048576 lie outside the frame's tensor area of 64 bytes/,
  },
  {
    name: 'meta that is not a map',
    send: call(encodeFrame({ meta: ['not', 'a', 'map'] as unknown as Meta, tensors: {} })),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /frame meta must be a map, got an array of 3/,
  },
  {
    name: 'a chunk announce that is not one',
    send: announced(() => 'lots of bytes, trust me'),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /malformed chunk announce "lots of bytes, trust me": expected <total bytes>\/<chunk bytes>\/<fetch subject>/,
  },
  {
    name: 'a chunk announce of an absurd size',
    send: announced((prefix) => `999999999999999/1048576/${prefix}.x`),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: over('chunk announce .*: '),
  },
  {
    name: 'a chunk announce whose fetch subject nobody serves',
    send: announced((prefix) => `${MiB / 2}/${MiB / 8}/${prefix}.${nuid.next()}`),
    code: 'SPOOL_ERR_CALL_LOST',
    message: /could not pull chunk \d of 4 of a frame from .*: /,
  },
  {
    name: 'a chunk announce whose sender never answers the pulls',
    send: servingChunks('never', MiB / 2, MiB / 8),
    code: 'SPOOL_ERR_CALL_LOST',
    message: /could not pull chunk \d of 4 of a frame from .*: timeout/i,
  },
  // Pulls go out under the worker's identity: an announce must not steer them to a stage (the VAE may publish to the video encoder's subject).
  {
    name: "a chunk announce naming the video encoder's subject as its fetch subject",
    send: announced(() => `${MiB / 2}/${MiB / 8}/${stageSubject(MODEL, 'video-encoder')}`),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /names fetch subject "spool\.cogvideox-tiny\.video-encoder"; its chunks are pulled only from _spool\.in\.cogvideox-tiny\.[a-z0-9-]+\.chunks\.<id>/,
  },
  {
    name: "a chunk announce naming another identity's chunk subject",
    send: announced(() => `${MiB / 2}/${MiB / 8}/${chunkSubjects(inboxPrefix(MODEL, 'launcher'))}.x`),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /names fetch subject "_spool\.in\.cogvideox-tiny\.launcher\.chunks\.x"; its chunks are pulled only from/,
  },
  {
    name: 'chunks of the wrong size',
    send: servingChunks(() => Uint8Array.of(1, 2, 3), MiB / 2, MiB / 8),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: /chunk \d has 3 bytes, expected 131072/,
  },
  {
    name: 'a well-formed frame over SPOOL_MAX_FRAME_MB in one message',
    send: call(encodeFrame({ meta: {}, tensors: { x: zeros('uint8', [1.5 * MiB]) } })),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: over('sent a frame in one message: '),
  },
  {
    name: 'a well-formed frame over SPOOL_MAX_FRAME_MB in chunks',
    send: call(encodeFrame({ meta: {}, tensors: { x: zeros('uint8', [3 * MiB]) } })),
    code: 'SPOOL_ERR_BAD_MESSAGE',
    message: over('chunk announce .*: '),
  },
];

/** What each stage must refuse of its own message. */
const PER_STAGE: Readonly<Record<string, readonly Case[]>> = {
  'text-encoder': [
    { name: 'prompts that are not an array', send: withMeta({ prompts: 'a red circle' }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.prompts must be an array of 1\.\.8 strings/ },
    { name: 'no prompts', send: withMeta({}), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.prompts must be an array of 1\.\.8 strings/ },
    { name: 'an empty prompt list', send: withMeta({ prompts: [] }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.prompts must be an array of 1\.\.8 strings/ },
    { name: 'a huge prompt list', send: withMeta({ prompts: Array.from({ length: 50_000 }, () => 'a cat') }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.prompts must be an array of 1\.\.8 strings/ },
    { name: 'a prompt that is not a string', send: withMeta({ prompts: ['a cat', 42] }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.prompts\[1\] must be a string/ },
    { name: 'a 100 kB prompt', send: withMeta({ prompts: ['x'.repeat(100_000)] }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.prompts\[0\] has 100000 characters \(at most 2000\)/ },
  ],
  'denoise.0': [
    { name: 'a sample of the wrong dtype', send: withTensors({ sample: zeros('int32', [2, 2, CHANNELS, LAT, LAT]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor sample is int32 \[2, 2, 4, 8, 8\], expected float32 \[B, F, 4, 8, 8\]/ },
    { name: 'a sample of the wrong rank', send: withTensors({ sample: zeros('float32', [2, CHANNELS, LAT, LAT]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor sample is float32 \[2, 4, 8, 8\], expected float32 \[B, F, 4, 8, 8\]/ },
    { name: 'a sample of the wrong size', send: withTensors({ sample: zeros('float32', [2, 2, CHANNELS, LAT, LAT + 1]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor sample is float32 \[2, 2, 4, 8, 9\], expected float32 \[B, F, 4, 8, 8\]/ },
    { name: 'text embeddings of the wrong size', send: withTensors({ encoder_hidden_states: zeros('float32', [2, TOKENS, TEXT_HIDDEN + 1]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor encoder_hidden_states is float32 \[2, 16, 33\], expected float32 \[B, 16, 32\]/ },
    { name: 'batch sizes that disagree', send: withTensors({ encoder_hidden_states: zeros('float32', [1, TOKENS, TEXT_HIDDEN]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor encoder_hidden_states is float32 \[1, 16, 32\].*\(B is 2 elsewhere in the message\)/ },
    { name: 'an empty batch', send: withTensors({ sample: zeros('float32', [0, 2, CHANNELS, LAT, LAT]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor sample .*\(B must be at least 1\)/ },
    { name: 'a missing timestep', send: withTensors({ timestep: undefined }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /missing tensor timestep \(expected float32 \[B\]; the message has sample, encoder_hidden_states\)/ },
  ],
  'denoise.1': [
    { name: 'hidden states of the wrong dtype', send: withTensors({ hidden_states: zeros('uint8', [2, TOKENS + 2 * PATCHES, HIDDEN]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor hidden_states is uint8 \[2, 48, 64\], expected float32 \[B, S, 64\]/ },
    { name: 'hidden states of the wrong rank', send: withTensors({ hidden_states: zeros('float32', [2 * (TOKENS + 2 * PATCHES), HIDDEN]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor hidden_states is float32 \[96, 64\], expected float32 \[B, S, 64\]/ },
    { name: 'hidden states of the wrong width', send: withTensors({ hidden_states: zeros('float32', [2, TOKENS + 2 * PATCHES, HIDDEN / 2]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor hidden_states is float32 \[2, 48, 32\], expected float32 \[B, S, 64\]/ },
    { name: 'a sequence that is not text plus whole frames', send: withTensors({ hidden_states: zeros('float32', [2, TOKENS + 2 * PATCHES + 1, HIDDEN]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /sequence length 49, expected 16 \+ F \* 16 for F >= 1 latent frames/ },
    { name: 'a sequence of text alone', send: withTensors({ hidden_states: zeros('float32', [2, TOKENS, HIDDEN]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /sequence length 16, expected 16 \+ F \* 16 for F >= 1 latent frames/ },
    { name: 'batch sizes that disagree', send: withTensors({ temb: zeros('float32', [3, HIDDEN]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor temb is float32 \[3, 64\].*\(B is 2 elsewhere in the message\)/ },
  ],
  'vae-decoder': [
    { name: 'latents of the wrong dtype', send: withTensors({ latents: zeros('uint8', [1, 2, CHANNELS, LAT, LAT]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor latents is uint8 \[1, 2, 4, 8, 8\], expected float32 \[B, F, 4, 8, 8\]/ },
    { name: 'latents of the wrong rank', send: withTensors({ latents: zeros('float32', [2, CHANNELS, LAT, LAT]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor latents is float32 \[2, 4, 8, 8\], expected/ },
    { name: 'latents of the wrong size', send: withTensors({ latents: zeros('float32', [1, 2, CHANNELS + 1, LAT, LAT]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor latents is float32 \[1, 2, 5, 8, 8\], expected/ },
    { name: 'no latents', send: withTensors({ latents: undefined, noise: zeros('float32', [1]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /missing tensor latents .*the message has noise/ },
    { name: 'video options that are a string', send: withMeta({ video: 'mp4 please' }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.video must be an object/ },
    { name: 'video options that are an array', send: withMeta({ video: [8, 8] }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.video must be an object/ },
    // The VAE passes the options on; the video encoder refuses them, and its answer reaches the caller.
    { name: 'video options of the wrong types', send: withMeta({ video: { ...videoMeta, fps: 'fast' } }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /video-encoder: meta\.fps must be a number \(got "fast"\)/, stage: 'video-encoder' },
  ],
  'video-encoder': [
    { name: 'frames of the wrong dtype', send: withTensors({ frames: zeros('float32', [1, 8, 32, 32, 3]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor frames is float32 \[1, 8, 32, 32, 3\], expected uint8 \[1, T, H, W, 3\]/ },
    { name: 'frames of the wrong rank', send: withTensors({ frames: zeros('uint8', [8, 32, 32]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor frames is uint8 \[8, 32, 32\], expected/ },
    { name: 'frames of four channels', send: withTensors({ frames: zeros('uint8', [1, 8, 32, 32, 4]) }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /tensor frames is uint8 \[1, 8, 32, 32, 4\], expected/ },
    { name: 'no frames', send: withTensors({ frames: undefined }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /missing tensor frames/ },
    { name: 'a frame rate that is a string', send: withMeta({ ...videoMeta, fps: '8' }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.fps must be a number \(got "8"\)/ },
    { name: 'more frames asked than sent', send: withMeta({ ...videoMeta, num_frames: 9 }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.num_frames 9 is more than the 8 frames received/ },
    { name: 'an odd width', send: withMeta({ ...videoMeta, width: 255 }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.width 255 must be an even integer from 2 to 4096/ },
    { name: 'an unknown preset', send: withMeta({ ...videoMeta, preset: { slow: true } }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.preset \{"slow":true\} must be one of ultrafast/ },
    { name: 'a quality out of range', send: withMeta({ ...videoMeta, crf: 99 }), code: 'SPOOL_ERR_BAD_MESSAGE', message: /meta\.crf 99 must be an integer from 0 to 51/ },
  ],
};

const CASES = TARGETS.flatMap((t) => [...EVERY_STAGE, ...PER_STAGE[t.stage]].map((c) => [t.stage, c.name, t, c] as const));

describe('hostile messages to real workers', () => {
  let dir: string;
  let creds: BusCredentials;
  let nats: TestNats;
  let stack: Stack;
  const senders = new Map<string, Sender>();
  const pids = new Map<string, number>();
  let exited: { label: string; code: number | string } | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-hostile-'));
    creds = createBusCredentials(busIdentities(2), { model: MODEL, shards: 2 });
    writeBusCredentials(path.join(dir, 'bus'), creds);
    nats = await startTestNats({ extraConfig: creds.authorization, maxPayload: MAX_PAYLOAD });
    stack = await startStack({
      natsUrl: nats.url,
      busCredentialsDir: path.join(dir, 'bus'),
      modelDir: MODEL_DIR,
      layout: loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } }),
      tokens: [TOKEN],
      port: 0,
      logDir: path.join(dir, 'logs'),
      env: { SPOOL_LOG_LEVEL: 'warn', SPOOL_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS), SPOOL_MAX_FRAME_MB: String(MAX_FRAME_MB) },
    });
    void stack.unexpectedExit.then((e) => (exited = e));
    for (const label of stack.labels) pids.set(label, stack.pid(label)!);
    for (const identity of new Set(TARGETS.map((t) => t.sender))) {
      const seed = creds.keys.find((k) => k.identity === identity)!.seed;
      const nc = await connectNats({ servers: nats.url, name: `hostile-${identity}`, auth: { identity, inboxPrefix: inboxPrefix(MODEL, identity), seed } });
      senders.set(identity, { nc, caller: new StageCaller(nc, { lostAfterMs: 3_000 }), boundMs: ANSWER_BOUND_MS });
    }
  });

  afterAll(async () => {
    for (const s of senders.values()) {
      s.caller.close();
      await s.nc.close().catch(() => undefined);
    }
    await stack?.stop();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(CASES)('%s refuses %s', async (_stage, _name, target, c) => {
    const err = await c.send(target, senders.get(target.sender)!);
    expect(err, String(err)).toBeInstanceOf(SpoolError);
    expect({ code: (err as SpoolError).code, stage: (err as SpoolError).stage }).toEqual({ code: c.code, stage: c.stage ?? target.stage });
    expect((err as Error).message).toMatch(c.message);
    if (c.code === 'SPOOL_ERR_CALL_LOST') expect((err as Error).message).toContain(`from ${target.upstream}`);
  });

  it('leaves every worker the same process, serving, and the stack still makes a valid MP4', async () => {
    // Messages nobody can answer: no reply subject (a chained stage cannot forward one either).
    for (const t of TARGETS) {
      const { nc } = senders.get(t.sender)!;
      nc.publish(t.subject, encodeFrame(t.good()));
      nc.publish(t.subject, new TextEncoder().encode('no reply, no frame'));
      await nc.flush();
    }
    expect(exited).toBeUndefined();
    for (const [label, pid] of pids) expect(stack.pid(label), label).toBe(pid);
    const live = (await discoverWorkers(senders.get(COORDINATOR_IDENTITY)!.nc, 500)).filter((w) => w.model === MODEL).map((w) => stageLabel(w.role, w.shard));
    expect(live.sort()).toEqual(TARGETS.map((t) => t.stage).sort());
    // Each stage also still answers its own well-formed message.
    for (const t of TARGETS) {
      const reply = await senders.get(t.sender)!.caller.call(t.subject, t.good(), { stage: t.stage, timeoutMs: ANSWER_BOUND_MS });
      expect(Object.keys(reply.tensors).length, t.stage).toBeGreaterThan(0);
    }
    const res = await fetch(`${stack.url}/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ prompt: 'a red circle moving left', num_frames: 8, fps: 8, num_inference_steps: 2, seed: 5 }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const file = path.join(dir, 'after.mp4');
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    expect(await probe(file)).toMatchObject({ codec: 'h264', frames: 8, width: manifest.video.output_width, height: manifest.video.output_height });
    for (const [label, pid] of pids) expect(stack.pid(label), label).toBe(pid);
  });
});
