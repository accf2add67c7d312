/**
 * `decode`: latents → uint8 RGB frames. When the request names a `forward`
 * target (the video encoder), the frames go straight there with the given
 * meta and the caller's reply subject; otherwise they are the reply.
 */
import { wireError, type Meta, type ModelManifest, type StageHandler, type Tensor, type WireMessage } from '@spool/shared';
import { checkTensors } from '../runtime/check-tensors.ts';
import { toUint8Frames } from './frames.ts';
import type { VaeDecoderModel } from './model.ts';

const STAGE = 'vae-decoder';

export interface ForwardTarget {
  readonly subject: string;
  readonly meta: Meta;
}

export function readForward(meta: Meta): ForwardTarget | undefined {
  const f = meta.forward;
  if (f === undefined || f === null) return undefined;
  const ok =
    typeof f === 'object' &&
    typeof (f as ForwardTarget).subject === 'string' &&
    /^[\w.-]+$/.test((f as ForwardTarget).subject) &&
    ((f as ForwardTarget).meta === undefined || (typeof (f as ForwardTarget).meta === 'object' && (f as ForwardTarget).meta !== null));
  if (!ok) throw wireError('SPOOL_ERR_BAD_MESSAGE', `${STAGE}: meta.forward must be { subject: string, meta: object }`);
  const { subject, meta: next } = f as ForwardTarget;
  return { subject, meta: next ?? {} };
}

export function vaeDecoderHandler(model: VaeDecoderModel, manifest: ModelManifest): StageHandler {
  const s = manifest.latent.spatial_compression;
  const shape = ['B', 'F', manifest.latent.channels, manifest.video.height / s, manifest.video.width / s];
  return async (message: WireMessage) => {
    const forward = readForward(message.meta);
    const { tensors } = checkTensors(message.tensors, { latents: { dtype: 'float32', shape } }, STAGE);
    const frames = toUint8Frames(await model.decode(tensors.latents as Tensor<'float32'>));
    if (forward) return { forwardTo: forward.subject, meta: forward.meta, tensors: { frames } };
    return { meta: {}, tensors: { frames } };
  };
}
