/** The video-encoder role: no model, the system's ffmpeg; warm-up checks that ffmpeg and libx264 work. */
import { stageSubject, tensor } from '@spool/shared';
import type { RoleLoader } from '../worker/role.ts';
import { videoEncoderHandler } from './handler.ts';

export const loadVideoEncoderRole: RoleLoader = async ({ config, pkg }) => {
  const handler = videoEncoderHandler({ ffmpegPath: config.ffmpegPath, timeoutMs: config.callTimeoutMs });
  return {
    endpoints: [{ name: 'encode', subject: stageSubject(pkg.manifest.name, 'video-encoder'), handler }],
    metadata: {},
    attributes: {},
    description: `${pkg.manifest.name} video encoder (ffmpeg, H.264)`,
    warmUp: async () => {
      const frames = tensor('uint8', [1, 2, 16, 16, 3], new Uint8Array(2 * 16 * 16 * 3).fill(128));
      await handler({ meta: { fps: 8, num_frames: 2, width: 16, height: 16 }, tensors: { frames } });
    },
    close: async () => undefined,
  };
};
