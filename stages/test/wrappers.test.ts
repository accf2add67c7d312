/** The text-encoder and VAE-decoder wrappers and handlers on the tiny model. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptTokenizer, TextEncoderModel, textEncoderHandler, VaeDecoderModel, vaeDecoderHandler } from '../src/index.ts';
import { noise, readParity, tinyPackage } from './helpers/model.ts';

const pkg = tinyPackage();
const m = pkg.manifest;
const opts = { device: { kind: 'cpu' }, threads: 1 } as const;
let text: TextEncoderModel;
let vae: VaeDecoderModel;

beforeAll(async () => {
  text = await TextEncoderModel.load(pkg, opts);
  vae = await VaeDecoderModel.load(pkg, opts);
});
afterAll(async () => {
  await Promise.all([text?.close(), vae?.close()]);
});

describe('text-encoder handler', () => {
  it('encodes prompts to the embeddings PyTorch produced', async () => {
    const parity = readParity();
    const handler = textEncoderHandler(text, PromptTokenizer.fromPackage(pkg), m.limits.max_prompt_chars);
    const reply = await handler({ meta: { prompts: parity.prompts }, tensors: {} });
    const emb = reply.tensors.text_embeddings;
    expect(emb.dtype).toBe('float32');
    expect(emb.shape).toEqual([2, m.tokenizer.max_tokens, m.text_encoder.hidden_size]);
    const ref = parity.files['text_encoder.onnx'].outputs.hidden_states.data!;
    const maxDiff = ref.reduce((acc, v, i) => Math.max(acc, Math.abs(v - (emb.data as Float32Array)[i])), 0);
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    expect(reply.meta).toEqual({ tokens: [11, 12], truncated: [false, false] });
  });

  it('rejects a bad prompt list', async () => {
    const handler = textEncoderHandler(text, PromptTokenizer.fromPackage(pkg), 10);
    await expect(handler({ meta: { prompts: [] }, tensors: {} })).rejects.toThrow(/meta.prompts must be an array of 1..8 strings/);
    await expect(handler({ meta: { prompts: Array(9).fill('a') }, tensors: {} })).rejects.toThrow(/1..8/);
    await expect(handler({ meta: { prompts: ['a', 3] }, tensors: {} })).rejects.toThrow(/prompts\[1\] must be a string/);
    await expect(handler({ meta: { prompts: ['x'.repeat(11)] }, tensors: {} })).rejects.toThrow(/11 characters \(at most 10\)/);
  });
});

describe('vae-decoder handler', () => {
  const h = m.video.height / m.latent.spatial_compression;
  const w = m.video.width / m.latent.spatial_compression;
  const latents = noise([1, 2, m.latent.channels, h, w]);

  it('decodes latents to uint8 [B, 4(F-1)+1, H, W, 3]', async () => {
    const reply = await vaeDecoderHandler(vae, m)({ meta: {}, tensors: { latents } });
    expect(reply.forwardTo).toBeUndefined();
    expect(reply.tensors.frames.dtype).toBe('uint8');
    expect(reply.tensors.frames.shape).toEqual([1, 5, m.video.height, m.video.width, 3]);
  });

  it("forwards frames to the model's own video encoder with the video meta", async () => {
    const video = { fps: 8, num_frames: 5, width: 64, height: 64 };
    const reply = await vaeDecoderHandler(vae, m)({ meta: { video }, tensors: { latents } });
    expect(reply.forwardTo).toBe(`spool.${m.name}.video-encoder`);
    expect(reply.meta).toEqual(video);
    expect(Object.keys(reply.tensors)).toEqual(['frames']);
  });

  it('never forwards to a subject a message names', async () => {
    const reply = await vaeDecoderHandler(vae, m)({ meta: { forward: { subject: 'spool.evil.inbox', meta: {} } }, tensors: { latents } });
    expect(reply.forwardTo).toBeUndefined();
  });

  it('rejects wrong latents and a malformed video meta', async () => {
    await expect(vaeDecoderHandler(vae, m)({ meta: {}, tensors: { latents: noise([1, 2, 4, h + 1, w]) } })).rejects.toThrow(
      /vae-decoder: tensor latents is float32 \[1, 2, 4, 9, 8\], expected float32 \[B, F, 4, 8, 8\]/,
    );
    await expect(vaeDecoderHandler(vae, m)({ meta: { video: 3 }, tensors: { latents } })).rejects.toThrow(/meta.video must be an object/);
  });
});
