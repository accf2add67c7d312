/**
 * Prompt → fixed-length token ids, the way the model was trained: tokenize,
 * map unknown words to unk, truncate to max_tokens-1, append eos, pad with
 * pad. `@huggingface/tokenizers` does no padding or truncation itself.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { tensor, type ModelPackage, type Tensor } from '@spool/shared';

export interface TokenizerSpec {
  readonly maxTokens: number;
  readonly padId: number;
  readonly eosId: number;
  readonly unkId: number;
}

export interface TokenizedBatch {
  /** int64 [B, maxTokens]. */
  readonly inputIds: Tensor<'int64'>;
  /** Real tokens per prompt, eos included. */
  readonly tokens: number[];
  readonly truncated: boolean[];
}

export class PromptTokenizer {
  constructor(
    private readonly tokenizer: Tokenizer,
    readonly spec: TokenizerSpec,
  ) {}

  static fromPackage(pkg: ModelPackage): PromptTokenizer {
    const t = pkg.manifest.tokenizer;
    const json = JSON.parse(readFileSync(pkg.resolve(t.file), 'utf8')) as object;
    const config = t.config ? (JSON.parse(readFileSync(pkg.resolve(t.config), 'utf8')) as object) : {};
    return new PromptTokenizer(new Tokenizer(json, config), {
      maxTokens: t.max_tokens,
      padId: t.pad_id,
      eosId: t.eos_id,
      unkId: t.unk_id,
    });
  }

  /** The ids of one prompt before truncation (unknown words as unk). */
  ids(prompt: string): number[] {
    const { ids } = this.tokenizer.encode(prompt, { add_special_tokens: false });
    return ids.map((id: number | undefined) => (typeof id === 'number' && Number.isInteger(id) ? id : this.spec.unkId));
  }

  encode(prompts: readonly string[]): TokenizedBatch {
    const { maxTokens, padId, eosId } = this.spec;
    const data = new BigInt64Array(prompts.length * maxTokens).fill(BigInt(padId));
    const tokens: number[] = [];
    const truncated: boolean[] = [];
    prompts.forEach((prompt, b) => {
      const ids = this.ids(prompt);
      const kept = ids.slice(0, maxTokens - 1);
      kept.push(eosId);
      kept.forEach((id, i) => (data[b * maxTokens + i] = BigInt(id)));
      tokens.push(kept.length);
      truncated.push(ids.length > maxTokens - 1);
    });
    return { inputIds: tensor('int64', [prompts.length, maxTokens], data), tokens, truncated };
  }
}
