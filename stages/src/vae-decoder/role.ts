/** Loads the VAE decoder role and its `decode` endpoint. */
import { latentShape, stageSubject, tensor } from '@spool/shared';
import type { RoleLoader } from '../worker/role.ts';
import { vaeDecoderHandler } from './handler.ts';
import { VaeDecoderModel } from './model.ts';

export const loadVaeDecoderRole: RoleLoader = async ({ config, pkg }) => {
  const model = await VaeDecoderModel.load(pkg, { device: config.device, threads: config.ortThreads });
  const handler = vaeDecoderHandler(model, pkg.manifest);
  return {
    endpoints: [{ name: 'decode', subject: stageSubject(pkg.manifest.name, 'vae-decoder'), handler }],
    metadata: {},
    attributes: {},
    description: `${pkg.manifest.name} VAE decoder`,
    warmUp: async () => {
      // enough latent frames for a chunked model to run its next-chunk graph too
      const batch = model.frameBatch;
      const shape = latentShape(pkg.manifest, batch === undefined ? 1 : 2 * batch);
      await handler({ meta: {}, tensors: { latents: tensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1))) } });
    },
    close: () => model.close(),
  };
};
