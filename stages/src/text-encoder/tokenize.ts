/**
 * Prompt → fixed-length token ids, the way the model's pipeline tokenizes:
 * tokenize, map unknown words to unk, truncate to max_tokens-1, append eos
 * (unless the ids already end with it, as transformers' T5 tokenizer does),
 * pad with pad. `@huggingface/tokenizers` does no padding or truncation itself.
 * A tokenizer converted from a SentencePiece model is made to tokenize exactly
 * as SentencePiece does (`sentencepiece.ts`).
 */
import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import { tensor, type ModelPackage, type Tensor } from '@spool/shared';
import { useSentencePieceExactly, type TokenizerJson } from './sentencepiece.ts';

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
    return PromptTokenizer.fromFiles(pkg.resolve(t.file), t.config ? pkg.resolve(t.config) : undefined, {
      maxTokens: t.max_tokens,
      padId: t.pad_id,
      eosId: t.eos_id,
      unkId: t.unk_id,
    });
  }

  /** A tokenizer.json, its optional tokenizer_config.json and the padding rules. */
  static fromFiles(file: string, configFile: string | undefined, spec: TokenizerSpec): PromptTokenizer {
    const json = JSON.parse(readFileSync(file, 'utf8')) as TokenizerJson;
    const config = configFile ? (JSON.parse(readFileSync(configFile, 'utf8')) as object) : {};
    const tokenizer = new Tokenizer(json, config);
    useSentencePieceExactly(tokenizer, json);
    return new PromptTokenizer(tokenizer, spec);
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
      if (kept.at(-1) !== eosId) kept.push(eosId);
      kept.forEach((id, i) => (data[b * maxTokens + i] = BigInt(id)));
      tokens.push(kept.length);
      truncated.push(ids.length > maxTokens - 1);
    });
    return { inputIds: tensor('int64', [prompts.length, maxTokens], data), tokens, truncated };
  }
}
