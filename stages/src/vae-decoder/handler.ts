/**
 * `decode`: latents → uint8 RGB frames. When the request carries `meta.video`
 * (the encoding the caller wants: fps, frames to keep, size), the frames go
 * straight to the model's video encoder, the VAE's next hop in every layout,
 * with that meta and the caller's reply subject; otherwise they are the reply.
 * The next hop is this worker's own: a message cannot name it. A chunked model
 * decodes a few latent frames at a time; each chunk is turned into bytes before
 * the next one runs.
 */
import { stageSubject, wireError, type Meta, type ModelManifest, type StageHandler, type Tensor, type WireMessage } from '@spool/shared';
import { checkTensors } from '../runtime/check-tensors.ts';
import { concatFrames } from './chunks.ts';
import { toUint8Frames } from './frames.ts';
import type { VaeDecoderModel } from './model.ts';

const STAGE = 'vae-decoder';

/** The video encoder's part of the request, passed on as its meta; undefined when the frames are the reply. */
export function readVideoMeta(meta: Meta): Meta | undefined {
  const v = meta.video;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw wireError('SPOOL_ERR_BAD_MESSAGE', `${STAGE}: meta.video must be an object (the video encoder's options)`);
  return v as Meta;
}

export function vaeDecoderHandler(model: VaeDecoderModel, manifest: ModelManifest): StageHandler {
  const s = manifest.latent.spatial_compression;
  const shape = ['B', 'F', manifest.latent.channels, manifest.video.height / s, manifest.video.width / s];
  const encoder = stageSubject(manifest.name, 'video-encoder');
  return async (message: WireMessage) => {
    const video = readVideoMeta(message.meta);
    const { tensors } = checkTensors(message.tensors, { latents: { dtype: 'float32', shape } }, STAGE);
    // Each chunk's float frames become bytes at once: the float frames of one chunk at a time, besides the output.
    const parts: Tensor<'uint8'>[] = [];
    for await (const chunk of model.decodeChunks(tensors.latents as Tensor<'float32'>)) parts.push(toUint8Frames(chunk));
    const frames = concatFrames(parts);
    if (video) return { forwardTo: encoder, meta: video, tensors: { frames } };
    return { meta: {}, tensors: { frames } };
  };
}
