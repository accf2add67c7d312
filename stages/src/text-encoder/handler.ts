/** `encode`: prompts in meta → text embeddings, with token counts and truncation flags. */
import { wireError, type StageHandler, type WireMessage } from '@spool/shared';
import type { TextEncoderModel } from './model.ts';
import type { PromptTokenizer } from './tokenize.ts';

export const MAX_PROMPTS = 8;

export function readPrompts(message: WireMessage, maxChars: number): string[] {
  const prompts = message.meta.prompts;
  if (!Array.isArray(prompts) || prompts.length < 1 || prompts.length > MAX_PROMPTS) {
    throw wireError('SPOOL_ERR_BAD_MESSAGE', `text-encoder: meta.prompts must be an array of 1..${MAX_PROMPTS} strings`);
  }
  prompts.forEach((p, i) => {
    if (typeof p !== 'string') throw wireError('SPOOL_ERR_BAD_MESSAGE', `text-encoder: meta.prompts[${i}] must be a string`);
    if (p.length > maxChars) {
      throw wireError('SPOOL_ERR_BAD_MESSAGE', `text-encoder: meta.prompts[${i}] has ${p.length} characters (at most ${maxChars})`);
    }
  });
  return prompts as string[];
}

export function textEncoderHandler(model: TextEncoderModel, tokenizer: PromptTokenizer, maxChars: number): StageHandler {
  return async (message) => {
    const prompts = readPrompts(message, maxChars);
    const batch = tokenizer.encode(prompts);
    const embeddings = await model.encode(batch.inputIds);
    return {
      meta: { tokens: batch.tokens, truncated: batch.truncated },
      tensors: { text_embeddings: embeddings },
    };
  };
}
