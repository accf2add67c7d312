/** `encode`: uint8 frames + meta → MP4 bytes (H.264, yuv420p, faststart). */
import type { StageHandler, Tensor } from '@spool/shared';
import { tensor } from '@spool/shared';
import { encodeVideo, type FfmpegOptions } from './ffmpeg.ts';
import { frameGeometry, readVideoOptions } from './options.ts';

export function videoEncoderHandler(run: FfmpegOptions): StageHandler {
  return async (message) => {
    const frames = message.tensors.frames;
    const options = readVideoOptions(message.meta, frameGeometry(frames));
    const mp4 = await encodeVideo(frames as Tensor<'uint8'>, options, run);
    return {
      meta: { frames: options.numFrames, fps: options.fps, width: options.width, height: options.height, codec: 'h264', bytes: mp4.byteLength },
      tensors: { mp4: tensor('uint8', [mp4.byteLength], mp4) },
    };
  };
}
