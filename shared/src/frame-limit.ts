/**
 * The largest frame a process accepts from the bus (SPOOL_MAX_FRAME_MB, in
 * MiB), read by the workers and the coordinator alike. A frame announced
 * over it is refused before anything of its size is allocated, and one that
 * arrived whole is refused too, so the limit does not depend on the server's
 * max payload. The default and why: DEFAULT_MAX_FRAME_MB in chunking.ts.
 */
import { DEFAULT_CHUNK_LIMITS, DEFAULT_MAX_FRAME_MB, type ChunkLimits } from './chunking.ts';
import { readInt, type Env } from './config.ts';

export const MAX_FRAME_MB_VARIABLE = 'SPOOL_MAX_FRAME_MB';

/** 4 GiB: the most bytes one buffer may hold in Node 20. */
export const MAX_FRAME_MB_CEILING = 4096;

/** The receiving limits for a frame limit of `mb` MiB, naming the variable that set it. */
export function frameLimits(mb: number): ChunkLimits {
  return Object.freeze({ maxTotalBytes: mb * 1024 ** 2, maxChunks: DEFAULT_CHUNK_LIMITS.maxChunks, setting: `${MAX_FRAME_MB_VARIABLE}=${mb}` });
}

export function readFrameLimits(env: Env): ChunkLimits {
  return frameLimits(readInt(env, MAX_FRAME_MB_VARIABLE, DEFAULT_MAX_FRAME_MB, { min: 1, max: MAX_FRAME_MB_CEILING }));
}
