/**
 * Makes a `@huggingface/tokenizers` Tokenizer loaded from a tokenizer.json
 * converted from a SentencePiece model tokenize exactly as SentencePiece does
 * (the pipeline's tokenizer is SentencePiece itself): the library runs the
 * added-token split, the whitespace rules, the Metaspace step, the fusing of
 * unknown runs and the id lookup; its two approximations are replaced by
 * exact parts, the normalization table (`precompiled-charsmap.ts`) and the
 * Unigram segmentation (`unigram-viterbi.ts`). Other tokenizers are left as they are.
 */
import { exactNormalizer, type NormalizerJson } from './precompiled-charsmap.ts';
import { UnigramViterbi } from './unigram-viterbi.ts';

export interface TokenizerJson {
  readonly normalizer?: NormalizerJson | null;
  readonly added_tokens?: readonly { readonly id: number }[];
  readonly model?: { readonly type?: string; readonly vocab?: unknown };
}

/** The library's Tokenizer, as far as it is touched here (its type declarations do not resolve under NodeNext). */
interface LibraryTokenizer {
  normalizer: ((text: string) => string) | null;
  model: { tokenize: (normalized: string) => string[] } | null;
}

/** Whether the tokenizer.json comes from a SentencePiece Unigram model (a Unigram model with a normalization table). */
export function isSentencePiece(json: TokenizerJson): boolean {
  return json.model?.type === 'Unigram' && exactNormalizer(json.normalizer) !== null;
}

/** Swaps the exact parts into `tokenizer` when `json` is a SentencePiece conversion; returns whether it did. */
export function useSentencePieceExactly(tokenizer: LibraryTokenizer, json: TokenizerJson): boolean {
  if (!isSentencePiece(json) || !tokenizer.model) return false;
  const vocab = json.model!.vocab as readonly (readonly [string, number])[];
  const special = new Set((json.added_tokens ?? []).map((t) => t.id));
  const viterbi = new UnigramViterbi(vocab, special);
  tokenizer.normalizer = exactNormalizer(json.normalizer);
  tokenizer.model.tokenize = (normalized) => viterbi.tokenize(normalized);
  return true;
}
