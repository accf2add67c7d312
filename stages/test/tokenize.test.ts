import { describe, expect, it } from 'vitest';
import { PromptTokenizer } from '../src/index.ts';
import { readParity, tinyPackage } from './helpers/model.ts';

const tokenizer = PromptTokenizer.fromPackage(tinyPackage());
const { maxTokens, padId, eosId, unkId } = tokenizer.spec;
const row = (ids: BigInt64Array, b: number): number[] => Array.from(ids.subarray(b * maxTokens, (b + 1) * maxTokens), Number);

describe('PromptTokenizer (cogvideox-tiny tokenizer.json)', () => {
  it('matches the ids the model tooling fed the text encoder', () => {
    const parity = readParity();
    const expected = parity.files['text_encoder.onnx'].inputs.input_ids.data!;
    const batch = tokenizer.encode(parity.prompts);
    expect(batch.inputIds.shape).toEqual([2, maxTokens]);
    expect(Array.from(batch.inputIds.data, Number)).toEqual(expected);
    expect(batch.tokens).toEqual([11, 12]);
    expect(batch.truncated).toEqual([false, false]);
  });

  it('appends eos and pads to max_tokens', () => {
    const { inputIds, tokens } = tokenizer.encode(['red circle', '']);
    expect(row(inputIds.data, 0)).toEqual([11, 3, eosId, ...Array(maxTokens - 3).fill(padId)]);
    expect(row(inputIds.data, 1)).toEqual([eosId, ...Array(maxTokens - 1).fill(padId)]);
    expect(tokens).toEqual([3, 1]);
  });

  it('truncates to max_tokens-1 and keeps eos last', () => {
    const long = Array(30).fill('red').join(' ');
    const { inputIds, tokens, truncated } = tokenizer.encode([long, Array(maxTokens - 1).fill('red').join(' ')]);
    expect(row(inputIds.data, 0)).toEqual([...Array(maxTokens - 1).fill(11), eosId]);
    expect(row(inputIds.data, 1)).toEqual([...Array(maxTokens - 1).fill(11), eosId]);
    expect(tokens).toEqual([maxTokens, maxTokens]);
    expect(truncated).toEqual([true, false]);
  });

  it('does not append eos twice when the ids already end with it (as transformers\' T5 tokenizer)', () => {
    const { inputIds, tokens } = tokenizer.encode(['red </s>', '</s> red']);
    expect(row(inputIds.data, 0)).toEqual([11, eosId, ...Array(maxTokens - 2).fill(padId)]);
    expect(row(inputIds.data, 1)).toEqual([eosId, 11, eosId, ...Array(maxTokens - 3).fill(padId)]);
    expect(tokens).toEqual([2, 3]);
  });

  it('maps unknown words to unk', () => {
    const ids = tokenizer.ids('Café zebra red');
    expect(ids).toEqual([unkId, unkId, 11]);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
  });
});
