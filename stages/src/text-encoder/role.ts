/** Loads the text-encoder role: tokenizer, ONNX session, the `encode` endpoint. */
import { stageSubject } from '@spool/shared';
import type { RoleLoader } from '../worker/role.ts';
import { textEncoderHandler } from './handler.ts';
import { TextEncoderModel } from './model.ts';
import { PromptTokenizer } from './tokenize.ts';

export const loadTextEncoderRole: RoleLoader = async ({ config, pkg }) => {
  const tokenizer = PromptTokenizer.fromPackage(pkg);
  const model = await TextEncoderModel.load(pkg, { device: config.device, threads: config.ortThreads });
  const handler = textEncoderHandler(model, tokenizer, pkg.manifest.limits.max_prompt_chars);
  return {
    endpoints: [{ name: 'encode', subject: stageSubject(pkg.manifest.name, 'text-encoder'), handler }],
    metadata: {},
    attributes: {},
    description: `${pkg.manifest.name} text encoder`,
    warmUp: async () => {
      await handler({ meta: { prompts: ['warm up', ''] }, tensors: {} });
    },
    close: () => model.close(),
  };
};
