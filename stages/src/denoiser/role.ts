/** Loads a denoiser shard: its slice of the transformer and the `denoise` endpoint on its own subject. */
import { stageSubject, tensor, WORKER_METADATA, type Tensor } from '@spool/shared';
import { formatRange } from '../layout.ts';
import type { RoleLoader } from '../worker/role.ts';
import { denoiserGeometry, denoiserHandler, type DenoiserGeometry } from './handler.ts';
import { DenoiserShard } from './model.ts';

export const loadDenoiserRole: RoleLoader = async ({ config, pkg }) => {
  const layout = config.layout;
  if (!layout) throw new Error('a denoiser worker needs a shard layout');
  const shard = await DenoiserShard.load(pkg, layout, { device: config.device, threads: config.ortThreads });
  const handler = denoiserHandler(shard, pkg.manifest);
  const geometry = denoiserGeometry(pkg.manifest);
  return {
    endpoints: [{ name: 'denoise', subject: stageSubject(pkg.manifest.name, 'denoiser', layout.shard), handler }],
    metadata: { [WORKER_METADATA.blocks]: formatRange(layout.blocks) },
    attributes: { 'spool.blocks': formatRange(layout.blocks), 'spool.block_count': layout.blocks.end - layout.blocks.start },
    description: `${pkg.manifest.name} denoiser shard ${layout.shard} of ${layout.shards} (blocks ${formatRange(layout.blocks)})`,
    warmUp: async () => {
      await handler({ meta: {}, tensors: warmUpTensors(geometry, layout.hasEmbed) });
    },
    close: () => shard.close(),
  };
};

/** The smallest valid input of a shard: batch 1, one latent frame (so a rotary shard also builds its F = 1 tables). */
export function warmUpTensors(g: DenoiserGeometry, first: boolean): Record<string, Tensor> {
  const zeros = (shape: number[]): Tensor<'float32'> => tensor('float32', shape, new Float32Array(shape.reduce((a, b) => a * b, 1)));
  if (first) {
    return {
      sample: zeros([1, 1, g.channels, g.height, g.width]),
      encoder_hidden_states: zeros([1, g.tokens, g.textHidden]),
      timestep: tensor('float32', [1], Float32Array.of(500)),
    };
  }
  return { hidden_states: zeros([1, g.tokens + g.patchesPerFrame, g.hidden]), temb: zeros([1, g.timeEmbed]) };
}
