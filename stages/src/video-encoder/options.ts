/** The video encoder's request: which frames, how many, at what size and rate. Validated before ffmpeg starts. */
import { wireError, type Meta, type Tensor } from '@spool/shared';

export const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow'] as const;
export type X264Preset = (typeof X264_PRESETS)[number];

export interface VideoOptions {
  readonly fps: number;
  /** Exactly this many frames are written (the first ones). */
  readonly numFrames: number;
  /** Output size; even numbers (yuv420p). */
  readonly width: number;
  readonly height: number;
  readonly preset: X264Preset;
  readonly crf: number;
}

/** Input geometry of a frames tensor: uint8 [1,T,H,W,3] or [T,H,W,3]. */
export interface FrameGeometry {
  readonly count: number;
  readonly height: number;
  readonly width: number;
}

const MAX_SIDE = 4096;
const bad = (message: string): never => {
  throw wireError('SPOOL_ERR_BAD_MESSAGE', `video-encoder: ${message}`);
};

export function frameGeometry(frames: Tensor | undefined): FrameGeometry {
  if (!frames) return bad('missing tensor frames (expected uint8 [1, T, H, W, 3])');
  const s = frames.shape;
  const dims = s.length === 5 && s[0] === 1 ? s.slice(1) : s;
  if (frames.dtype !== 'uint8' || dims.length !== 4 || dims[3] !== 3 || dims.some((d) => d < 1)) {
    bad(`tensor frames is ${frames.dtype} [${s.join(', ')}], expected uint8 [1, T, H, W, 3] or [T, H, W, 3]`);
  }
  return { count: dims[0], height: dims[1], width: dims[2] };
}

export function readVideoOptions(meta: Meta, input: FrameGeometry): VideoOptions {
  const num = (key: string): number => {
    const v = meta[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : bad(`meta.${key} must be a number (got ${JSON.stringify(v)})`);
  };
  const fps = num('fps');
  if (fps <= 0 || fps > 240) bad(`meta.fps ${fps} must be in (0, 240]`);
  const numFrames = num('num_frames');
  if (!Number.isInteger(numFrames) || numFrames < 1) bad(`meta.num_frames ${numFrames} must be a positive integer`);
  if (numFrames > input.count) bad(`meta.num_frames ${numFrames} is more than the ${input.count} frames received`);
  const side = (key: 'width' | 'height'): number => {
    const v = num(key);
    if (!Number.isInteger(v) || v < 2 || v > MAX_SIDE || v % 2 !== 0) bad(`meta.${key} ${v} must be an even integer from 2 to ${MAX_SIDE}`);
    return v;
  };
  const width = side('width');
  const height = side('height');
  const preset = meta.preset ?? 'veryfast';
  if (typeof preset !== 'string' || !(X264_PRESETS as readonly string[]).includes(preset)) {
    bad(`meta.preset ${JSON.stringify(preset)} must be one of ${X264_PRESETS.join(', ')}`);
  }
  const crf = meta.crf === undefined ? 18 : num('crf');
  if (!Number.isInteger(crf) || crf < 0 || crf > 51) bad(`meta.crf ${crf} must be an integer from 0 to 51`);
  return { fps, numFrames, width, height, preset: preset as X264Preset, crf };
}
