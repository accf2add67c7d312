/**
 * 3D rotary position tables (CogVideoX-5B): what the pipeline's
 * `_prepare_rotary_positional_embeddings` computes for a latent grid of
 * gridHeight × gridWidth patches and F latent frames, in float32 step by step
 * (every intermediate rounded with Math.fround where PyTorch rounds), so the
 * tables equal PyTorch's to float32 rounding of the final cos/sin.
 *
 * Layout: float32 [F·gridHeight·gridWidth, head_dim], tokens frame-major then
 * row then column (the order of the video tokens); per token the temporal
 * quarter of the channels, then rows and columns with 3/8 each, every
 * frequency repeated twice (the channels rotate in adjacent pairs).
 * Spatial positions are the coordinates of the grid's crop region inside the
 * base grid the model was trained at (45 × 30 patches for 720 × 480).
 */
import { tensor, type Tensor, type TransformerRotary } from '@spool/shared';

const f32 = Math.fround;

export interface CropRegion {
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

/** Where a grid resized to fit the base grid (aspect kept, centred) sits in it: the pipeline's get_resize_crop_region_for_grid. */
export function resizeCropRegion(gridHeight: number, gridWidth: number, baseHeight: number, baseWidth: number): CropRegion {
  let resizeHeight: number;
  let resizeWidth: number;
  if (gridHeight / gridWidth > baseHeight / baseWidth) {
    resizeHeight = baseHeight;
    resizeWidth = roundHalfEven((baseHeight / gridHeight) * gridWidth);
  } else {
    resizeWidth = baseWidth;
    resizeHeight = roundHalfEven((baseWidth / gridWidth) * gridHeight);
  }
  const top = roundHalfEven((baseHeight - resizeHeight) / 2);
  const left = roundHalfEven((baseWidth - resizeWidth) / 2);
  return { top, left, bottom: top + resizeHeight, right: left + resizeWidth };
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torch.linspace in float32 (its scalar kernel: the first half counts up from start, the second down from end). */
function linspace32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  if (steps === 1) {
    out[0] = start;
    return out;
  }
  const s = f32(start);
  const e = f32(end);
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? f32(s + f32(step * i)) : f32(e - f32(step * (steps - i - 1)));
  return out;
}

/** cos and sin [positions.length, dim] of one axis: 1 / θ^(2k/dim) per pair k, each repeated twice. */
function axisTables(dim: number, positions: Float32Array, theta: number): { cos: Float32Array; sin: Float32Array } {
  const half = dim / 2;
  const freqs = new Float32Array(half);
  for (let k = 0; k < half; k++) freqs[k] = f32(1 / f32(Math.pow(theta, f32((2 * k) / dim))));
  const cos = new Float32Array(positions.length * dim);
  const sin = new Float32Array(positions.length * dim);
  positions.forEach((pos, m) => {
    for (let k = 0; k < half; k++) {
      const angle = f32(pos * freqs[k]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[m * dim + 2 * k] = c;
      cos[m * dim + 2 * k + 1] = c;
      sin[m * dim + 2 * k] = s;
      sin[m * dim + 2 * k + 1] = s;
    }
  });
  return { cos, sin };
}

function checkHeadDim(dim: number): number {
  if (!Number.isInteger(dim) || dim % 8 !== 0) {
    throw new Error(`transformer.rotary.head_dim ${dim} must be a multiple of 8 (a quarter for time, 3/8 each for rows and columns, in pairs)`);
  }
  return dim;
}

/** The rotary tables for F latent frames of a gridHeight × gridWidth patch grid. */
export function rotaryTables(
  r: TransformerRotary,
  gridHeight: number,
  gridWidth: number,
  frames: number,
): { cos: Float32Array; sin: Float32Array } {
  const dim = checkHeadDim(r.head_dim);
  const dimT = dim / 4;
  const dimHW = (dim / 8) * 3;
  const crop = resizeCropRegion(gridHeight, gridWidth, r.base_height, r.base_width);
  const t = axisTables(dimT, linspace32(0, (frames * (frames - 1)) / frames, frames), r.theta);
  const h = axisTables(dimHW, linspace32(crop.top, (crop.bottom * (gridHeight - 1)) / gridHeight, gridHeight), r.theta);
  const w = axisTables(dimHW, linspace32(crop.left, (crop.right * (gridWidth - 1)) / gridWidth, gridWidth), r.theta);
  const n = frames * gridHeight * gridWidth;
  const cos = new Float32Array(n * dim);
  const sin = new Float32Array(n * dim);
  let row = 0;
  for (let f = 0; f < frames; f++) {
    for (let y = 0; y < gridHeight; y++) {
      for (let x = 0; x < gridWidth; x++, row++) {
        const o = row * dim;
        for (const [dst, src] of [[cos, t.cos], [sin, t.sin]] as const) dst.set(src.subarray(f * dimT, (f + 1) * dimT), o);
        for (const [dst, src] of [[cos, h.cos], [sin, h.sin]] as const) dst.set(src.subarray(y * dimHW, (y + 1) * dimHW), o + dimT);
        for (const [dst, src] of [[cos, w.cos], [sin, w.sin]] as const) dst.set(src.subarray(x * dimHW, (x + 1) * dimHW), o + dimT + dimHW);
      }
    }
  }
  return { cos, sin };
}

/** The blocks' rotary inputs per latent frame count, computed once per F (the most recent few are kept). */
export class RotaryCache {
  private readonly byFrames = new Map<number, { rotary_cos: Tensor<'float32'>; rotary_sin: Tensor<'float32'> }>();

  constructor(
    private readonly rotary: TransformerRotary,
    private readonly gridHeight: number,
    private readonly gridWidth: number,
    private readonly keep = 16,
  ) {
    checkHeadDim(rotary.head_dim);
  }

  tensors(frames: number): { rotary_cos: Tensor<'float32'>; rotary_sin: Tensor<'float32'> } {
    const hit = this.byFrames.get(frames);
    if (hit) {
      this.byFrames.delete(frames); // re-insert: the map's order is the order of use
      this.byFrames.set(frames, hit);
      return hit;
    }
    const { cos, sin } = rotaryTables(this.rotary, this.gridHeight, this.gridWidth, frames);
    const shape = [frames * this.gridHeight * this.gridWidth, this.rotary.head_dim];
    const entry = { rotary_cos: tensor('float32', shape, cos), rotary_sin: tensor('float32', shape, sin) };
    this.byFrames.set(frames, entry);
    if (this.byFrames.size > this.keep) this.byFrames.delete(this.byFrames.keys().next().value as number);
    return entry;
  }
}
