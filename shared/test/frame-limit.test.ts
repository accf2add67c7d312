/** SPOOL_MAX_FRAME_MB and the check every received frame goes through. */
import { describe, expect, it } from 'vitest';
import {
  checkFrameSize,
  ChunkError,
  ConfigError,
  DEFAULT_CHUNK_LIMITS,
  DEFAULT_MAX_FRAME_MB,
  formatChunkAnnounce,
  frameLimits,
  FrameError,
  parseChunkAnnounce,
  planChunks,
  readFrameLimits,
} from '../src/index.ts';

const MiB = 1024 ** 2;

describe('the frame limit', () => {
  it('is 2048 MiB unless SPOOL_MAX_FRAME_MB says otherwise, the same as the binding default', () => {
    expect(DEFAULT_MAX_FRAME_MB).toBe(2048);
    expect(readFrameLimits({})).toEqual({ maxTotalBytes: 2048 * MiB, maxChunks: DEFAULT_CHUNK_LIMITS.maxChunks, setting: 'SPOOL_MAX_FRAME_MB=2048' });
    expect(DEFAULT_CHUNK_LIMITS.maxTotalBytes).toBe(2048 * MiB);
    expect(readFrameLimits({ SPOOL_MAX_FRAME_MB: ' 3 ' })).toMatchObject({ maxTotalBytes: 3 * MiB, setting: 'SPOOL_MAX_FRAME_MB=3' });
    expect(Object.isFrozen(readFrameLimits({}))).toBe(true);
  });

  it.each(['0', '-1', '1.5', 'lots', '4097'])('refuses SPOOL_MAX_FRAME_MB=%s, naming the variable and the range', (value) => {
    expect(() => readFrameLimits({ SPOOL_MAX_FRAME_MB: value })).toThrow(ConfigError);
    expect(() => readFrameLimits({ SPOOL_MAX_FRAME_MB: value })).toThrow(`SPOOL_MAX_FRAME_MB=${JSON.stringify(value)} must be an integer from 1 to 4096`);
  });

  it('lets a frame of exactly the limit through and refuses one byte more, naming the limit and the variable', () => {
    const limits = frameLimits(1);
    expect(() => checkFrameSize(MiB, limits)).not.toThrow();
    let caught: unknown;
    try {
      checkFrameSize(MiB + 1, limits, 'denoise.0 sent a frame in one message: ');
    } catch (err) {
      caught = err;
    }
    // A FrameError, so the binding answers it as a bad message.
    expect(caught).toBeInstanceOf(ChunkError);
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as Error).message).toBe('denoise.0 sent a frame in one message: a frame of 1048577 bytes is over the limit of 1048576 bytes (SPOOL_MAX_FRAME_MB=1)');
  });

  it('refuses an announce over the limit from the header alone, before any chunk is pulled or allocated', () => {
    const limits = frameLimits(1);
    const fits = formatChunkAnnounce(planChunks(MiB, 64 * 1024), '_spool.in.m.coordinator.chunks.a');
    expect(parseChunkAnnounce(fits, limits).plan.total).toBe(MiB);
    const over = formatChunkAnnounce(planChunks(MiB + 8, 64 * 1024), '_spool.in.m.coordinator.chunks.a');
    expect(() => parseChunkAnnounce(over, limits)).toThrow(/a frame of 1048584 bytes is over the limit of 1048576 bytes \(SPOOL_MAX_FRAME_MB=1\)/);
    // An absurd size (a petabyte) is refused the same way, not attempted.
    expect(() => parseChunkAnnounce('999999999999999/1048576/_INBOX.a', readFrameLimits({}))).toThrow(/over the limit of 2147483648 bytes \(SPOOL_MAX_FRAME_MB=2048\)/);
  });

  it('checks the limits themselves', () => {
    expect(() => checkFrameSize(1, { maxTotalBytes: -1, maxChunks: 1 })).toThrow(RangeError);
  });
});
