import { describe, expect, it } from 'vitest';
import { batchRows, tensor, tensorBytes, type WireMessage } from '../src/index.ts';

const f32 = (shape: number[]) => tensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));

describe('message facts for spans', () => {
  const denoise: WireMessage = { meta: {}, tensors: { sample: f32([4, 2, 3]), encoder_hidden_states: f32([4, 5, 2]), timestep: f32([4]) } };

  it('counts the bytes of every tensor, none for a message without tensors', () => {
    expect(tensorBytes(denoise)).toBe(4 * (4 * 2 * 3 + 4 * 5 * 2 + 4));
    const mixed: WireMessage = { meta: {}, tensors: { ids: tensor('int64', [2, 3], new BigInt64Array(6)), mp4: tensor('uint8', [7], new Uint8Array(7)) } };
    expect(tensorBytes(mixed)).toBe(2 * 3 * 8 + 7);
    expect(tensorBytes({ meta: { prompts: ['a', 'b'] }, tensors: {} })).toBe(0);
  });

  it('takes the rows from the request, or from the reply when the request has no tensors', () => {
    expect(batchRows(denoise)).toBe(4);
    expect(batchRows(denoise, { meta: {}, tensors: { model_output: f32([9, 2, 3]) } })).toBe(4);
    const prompts: WireMessage = { meta: { prompts: ['', 'a fox'] }, tensors: {} };
    expect(batchRows(prompts, { meta: {}, tensors: { text_embeddings: f32([2, 5, 2]) } })).toBe(2);
    expect(batchRows(prompts)).toBeUndefined();
    // A scalar says nothing of rows; the next tensor does.
    expect(batchRows({ meta: {}, tensors: { scale: f32([]), x: f32([3, 1]) } })).toBe(3);
  });
});
