/**
 * `denoise` on shard i of N: check the incoming tensors, run the shard, then
 * either forward hidden states to shard i+1 (the caller's reply subject
 * travels along) or, on the last shard, reply with the model output.
 */
import { stageLabel, stageSubject, wireError, type ModelManifest, type StageHandler, type StageReply, type WireMessage } from '@spool/shared';
import { checkTensors, type TensorSpec } from '../runtime/check-tensors.ts';
import { denoiserGeometry, framesOfSequence, type DenoiserGeometry } from './geometry.ts';
import type { DenoiserShard, ShardInput } from './model.ts';

export { denoiserGeometry, type DenoiserGeometry };

/** Validates the message a shard receives and returns the shard input. */
export function readShardInput(message: WireMessage, g: DenoiserGeometry, first: boolean, stage: string): ShardInput {
  if (first) {
    const specs: Record<'sample' | 'encoder_hidden_states' | 'timestep', TensorSpec> = {
      sample: { dtype: 'float32', shape: ['B', 'F', g.channels, g.height, g.width] },
      encoder_hidden_states: { dtype: 'float32', shape: ['B', g.tokens, g.textHidden] },
      timestep: { dtype: 'float32', shape: ['B'] },
    };
    return checkTensors(message.tensors, specs, stage).tensors as ShardInput;
  }
  const specs: Record<'hidden_states' | 'temb', TensorSpec> = {
    hidden_states: { dtype: 'float32', shape: ['B', 'S', g.hidden] },
    temb: { dtype: 'float32', shape: ['B', g.timeEmbed] },
  };
  const { tensors, dims } = checkTensors(message.tensors, specs, stage);
  if (framesOfSequence(g, dims.S) === undefined) {
    // Plain ASCII: the message travels in a NATS header, which carries nothing else.
    throw wireError(
      'SPOOL_ERR_BAD_MESSAGE',
      `${stage}: tensor hidden_states has sequence length ${dims.S}, expected ${g.tokens} + F * ${g.patchesPerFrame} for F >= 1 latent frames`,
    );
  }
  return tensors as ShardInput;
}

export function denoiserHandler(shard: DenoiserShard, manifest: ModelManifest): StageHandler {
  const { shard: index, shards } = shard.layout;
  const stage = stageLabel('denoiser', index);
  const geometry = denoiserGeometry(manifest);
  const next = shard.layout.hasHead ? undefined : stageSubject(manifest.name, 'denoiser', index + 1);
  return async (message): Promise<StageReply> => {
    const input = readShardInput(message, geometry, shard.layout.hasEmbed, stage);
    const output = await shard.forward(input);
    if ('model_output' in output) return { meta: message.meta, tensors: { model_output: output.model_output } };
    if (!next) throw new Error(`${stage} of ${shards} produced hidden states but has no next shard`);
    return { forwardTo: next, meta: message.meta, tensors: { hidden_states: output.hidden_states, temb: output.temb } };
  };
}
