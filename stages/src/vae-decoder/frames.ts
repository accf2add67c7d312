/** Decoder output → pixels: float [B,T,3,H,W] in [-1,1] to uint8 RGB [B,T,H,W,3]. */
import { tensor, type Tensor } from '@spool/shared';

export function toUint8Frames(frames: Tensor<'float32'>): Tensor<'uint8'> {
  if (frames.shape.length !== 5 || frames.shape[2] !== 3) {
    throw new RangeError(`decoder frames must be [B, T, 3, H, W], got [${frames.shape.join(', ')}]`);
  }
  const [B, T, C, H, W] = frames.shape;
  const src = frames.data;
  const out = new Uint8Array(src.length);
  const plane = H * W;
  for (let bt = 0; bt < B * T; bt++) {
    const base = bt * C * plane;
    for (let c = 0; c < C; c++) {
      const from = base + c * plane;
      for (let p = 0; p < plane; p++) out[base + p * C + c] = toByte(src[from + p]);
    }
  }
  return tensor('uint8', [B, T, H, W, C], out);
}

/** (x + 1) · 127.5, rounded and clamped to 0..255; NaN becomes 0. */
export function toByte(x: number): number {
  const v = Math.round((x + 1) * 127.5);
  return v >= 255 ? 255 : v > 0 ? v : 0;
}
