/** The denoiser chain in-process: shards 2 vs 1 agree; the handler validates and forwards. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpoolError, tensor, type Tensor } from '@spool/shared';
import { DenoiserShard, denoiserHandler, resolveLayout, type ShardOutput } from '../src/index.ts';
import { noise, tinyPackage } from './helpers/model.ts';

const pkg = tinyPackage();
const m = pkg.manifest;
const opts = { device: { kind: 'cpu' }, threads: 1 } as const;
const layout = (shard: number, shards: number) => resolveLayout({ shard, shards, blockCount: m.transformer.blocks.length });
const h = m.video.height / m.latent.spatial_compression;
const w = m.video.width / m.latent.spatial_compression;

const B = 2;
const F = 3;
const inputs = {
  sample: noise([B, F, m.latent.channels, h, w], 1),
  encoder_hidden_states: noise([B, m.tokenizer.max_tokens, m.text_encoder.hidden_size], 2),
  timestep: tensor('float32', [B], Float32Array.of(999, 421)),
};

let whole: DenoiserShard;
let first: DenoiserShard;
let second: DenoiserShard;

beforeAll(async () => {
  whole = await DenoiserShard.load(pkg, layout(0, 1), opts);
  first = await DenoiserShard.load(pkg, layout(0, 2), opts);
  second = await DenoiserShard.load(pkg, layout(1, 2), opts);
});
afterAll(async () => {
  await Promise.all([whole?.close(), first?.close(), second?.close()]);
});

const modelOutput = (o: ShardOutput): Tensor<'float32'> => {
  if (!('model_output' in o)) throw new Error('expected model_output');
  return o.model_output;
};

describe('denoiser shards', () => {
  it('split 2 gives the same model_output as split 1', async () => {
    const one = modelOutput(await whole.forward(inputs));
    const mid = await first.forward(inputs);
    expect('hidden_states' in mid).toBe(true);
    const two = modelOutput(await second.forward(mid as Extract<ShardOutput, { hidden_states: unknown }>));
    expect(one.shape).toEqual([B, F, m.latent.channels, h, w]);
    expect(two.shape).toEqual(one.shape);
    let maxDiff = 0;
    for (let i = 0; i < one.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(one.data[i] - two.data[i]));
    console.log(`denoiser split 2 vs 1: max|d|=${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
  });

  it('shard 0 forwards hidden states to shard 1 with the same meta; the last shard replies', async () => {
    const meta = { request: 'r1', step: 3 };
    const reply = await denoiserHandler(first, m)({ meta, tensors: inputs });
    expect(reply.forwardTo).toBe('spool.cogvideox-tiny.denoise.1');
    expect(reply.meta).toEqual(meta);
    expect(Object.keys(reply.tensors).sort()).toEqual(['hidden_states', 'temb']);
    const last = await denoiserHandler(second, m)({ meta: reply.meta, tensors: reply.tensors });
    expect(last.forwardTo).toBeUndefined();
    expect(last.tensors.model_output.shape).toEqual([B, F, m.latent.channels, h, w]);
  });

  it('rejects tensors of the wrong shape or kind, naming them', async () => {
    const call = (shard: DenoiserShard, tensors: Record<string, Tensor>) => denoiserHandler(shard, m)({ meta: {}, tensors });
    const wrong = { ...inputs, sample: noise([B, F, 3, h, w]) };
    await expect(call(first, wrong)).rejects.toThrow(`denoise.0: tensor sample is float32 [2, 3, 3, ${h}, ${w}], expected float32 [B, F, 4, ${h}, ${w}]`);
    await expect(call(first, { ...inputs, timestep: tensor('float32', [1], Float32Array.of(1)) })).rejects.toThrow(/timestep .*B is 2 elsewhere/);
    await expect(call(second, inputs)).rejects.toThrow(/denoise.1: missing tensor hidden_states/);
    const D = m.transformer.hidden_size;
    await expect(call(second, { hidden_states: noise([1, 17, D]), temb: noise([1, D]) })).rejects.toThrow(/sequence length 17/);
    await expect(call(second, { hidden_states: noise([1, 17, D]), temb: noise([1, D]) })).rejects.toBeInstanceOf(SpoolError);
  });
});
