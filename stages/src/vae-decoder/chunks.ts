/**
 * The chunked decode's plain parts: which latent frames each graph run takes,
 * how the first and next graphs' conv caches pair up, and slicing and joining
 * [B, T, …] tensors along T. No onnxruntime here.
 */
import { tensor, type DType, type Tensor, type TensorData } from '@spool/shared';

/** Prefixes of the conv cache names: the next graph reads `conv_cache.<conv>`, every graph writes `conv_cache_out.<conv>`. */
export const CACHE_IN = 'conv_cache.';
export const CACHE_OUT = 'conv_cache_out.';

/**
 * [start, end) of the latent frames of each run, as the model was trained to decode:
 * chunks of `frameBatch`, the first one also taking the `frames % frameBatch` left over
 * (13 frames in batches of 2: 3, 2, 2, 2, 2, 2).
 */
export function chunkBounds(frames: number, frameBatch: number): Array<[number, number]> {
  if (!Number.isInteger(frames) || frames < 1 || !Number.isInteger(frameBatch) || frameBatch < 1) {
    throw new RangeError(`cannot chunk ${frames} latent frames in batches of ${frameBatch}`);
  }
  const extra = frames % frameBatch;
  const count = Math.max(Math.floor(frames / frameBatch), 1);
  return Array.from({ length: count }, (_, i): [number, number] => [
    i === 0 ? 0 : frameBatch * i + extra,
    Math.min(frameBatch * (i + 1) + extra, frames),
  ]);
}

/** One conv's cache: the output of a run that feeds the next run's input. */
export interface CacheLink {
  readonly output: string;
  readonly input: string;
}

/**
 * The cache links between the graphs, checked by name: the first graph gives
 * `frames` and `conv_cache_out.<conv>` per cached conv; the next graph takes
 * `latents` and `conv_cache.<conv>` for exactly those convs and gives the same
 * outputs as the first. Throws a message naming the graph and the names that
 * are missing or unexpected otherwise.
 */
export function cacheLinks(
  first: { readonly label: string; readonly outputNames: readonly string[] },
  next: { readonly label: string; readonly inputNames: readonly string[]; readonly outputNames: readonly string[] },
): CacheLink[] {
  const convs = first.outputNames.filter((n) => n.startsWith(CACHE_OUT)).map((n) => n.slice(CACHE_OUT.length));
  if (!first.outputNames.includes('frames') || convs.length === 0) {
    throw new Error(`${first.label} must give frames and ${CACHE_OUT}<conv> outputs for a chunked decode (gives ${first.outputNames.join(', ')})`);
  }
  const links = convs.map((c) => ({ input: CACHE_IN + c, output: CACHE_OUT + c }));
  const wanted = ['latents', ...links.map((l) => l.input)];
  const missing = wanted.filter((n) => !next.inputNames.includes(n));
  const stray = next.inputNames.filter((n) => !wanted.includes(n));
  if (missing.length > 0 || stray.length > 0) {
    const parts = [missing.length > 0 ? `lacks the inputs ${missing.join(', ')}` : '', stray.length > 0 ? `has unexpected inputs ${stray.join(', ')}` : ''];
    throw new Error(`${next.label} does not take ${first.label}'s conv cache: it ${parts.filter(Boolean).join(' and ')}`);
  }
  const absent = ['frames', ...links.map((l) => l.output)].filter((n) => !next.outputNames.includes(n));
  if (absent.length > 0) throw new Error(`${next.label} lacks the outputs ${absent.join(', ')} that the chunked decode passes on`);
  return links;
}

function frameSize(shape: readonly number[]): number {
  return shape.slice(2).reduce((a, b) => a * b, 1);
}

/** Frames [start, end) of a [B, T, …] float tensor, multiplied by `scale`. */
export function sliceFrames(t: Tensor<'float32'>, start: number, end: number, scale = 1): Tensor<'float32'> {
  const [batch, frames] = t.shape;
  if (!(start >= 0 && start < end && end <= frames)) throw new RangeError(`frames [${start}, ${end}) are outside 0..${frames}`);
  const per = frameSize(t.shape);
  const n = end - start;
  const out = new Float32Array(batch * n * per);
  for (let b = 0; b < batch; b++) {
    const from = (b * frames + start) * per;
    const to = b * n * per;
    if (scale === 1) out.set(t.data.subarray(from, from + n * per), to);
    else for (let i = 0; i < n * per; i++) out[to + i] = t.data[from + i] * scale;
  }
  return tensor('float32', [batch, n, ...t.shape.slice(2)], out);
}

/** [B, T_i, …] tensors joined along T (same B and trailing shape). */
export function concatFrames<D extends DType>(parts: readonly Tensor<D>[]): Tensor<D> {
  if (parts.length === 0) throw new RangeError('nothing to concatenate');
  if (parts.length === 1) return parts[0];
  const [first] = parts;
  const [batch] = first.shape;
  const tail = first.shape.slice(2);
  for (const p of parts) {
    if (p.dtype !== first.dtype || p.shape[0] !== batch || p.shape.slice(2).join() !== tail.join()) {
      throw new RangeError(`cannot join frames [${p.shape.join(', ')}] ${p.dtype} to [${first.shape.join(', ')}] ${first.dtype}`);
    }
  }
  const per = frameSize(first.shape);
  const total = parts.reduce((acc, p) => acc + p.shape[1], 0);
  const Ctor = first.data.constructor as new (n: number) => TensorData<D>;
  const out = new Ctor(batch * total * per);
  for (let b = 0; b < batch; b++) {
    let at = b * total * per;
    for (const p of parts) {
      const n = p.shape[1] * per;
      (out as Float32Array).set((p.data as Float32Array).subarray(b * n, (b + 1) * n), at);
      at += n;
    }
  }
  return tensor(first.dtype, [batch, total, ...tail], out);
}
