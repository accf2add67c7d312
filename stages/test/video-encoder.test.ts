/** The video encoder with the real ffmpeg, checked with ffprobe. */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpoolError, tensor, type Tensor } from '@spool/shared';
import { videoEncoderHandler } from '../src/index.ts';

// A temp root of this test's own: other processes on the machine may be encoding too.
const tmpRoot = mkdtempSync(path.join(tmpdir(), 'spool-video-test-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
const run = { ffmpegPath: process.env.SPOOL_FFMPEG ?? 'ffmpeg', timeoutMs: 30_000, tmpRoot };

/** T frames of a white 8×8 square moving right over a dark blue background. */
function movingSquare(T: number, H: number, W: number): Tensor<'uint8'> {
  const data = new Uint8Array(T * H * W * 3);
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = ((t * H + y) * W + x) * 3;
        const inside = x >= 2 + 2 * t && x < 10 + 2 * t && y >= 12 && y < 20;
        data.set(inside ? [255, 255, 255] : [10, 20, 90], i);
      }
    }
  }
  return tensor('uint8', [1, T, H, W, 3], data);
}

/** Top-level MP4 box types in file order. */
function topLevelBoxes(mp4: Uint8Array): string[] {
  const view = new DataView(mp4.buffer, mp4.byteOffset, mp4.byteLength);
  const out: string[] = [];
  for (let at = 0; at + 8 <= mp4.byteLength; ) {
    let size = view.getUint32(at);
    if (size === 1) size = Number(view.getBigUint64(at + 8));
    out.push(String.fromCharCode(...mp4.subarray(at + 4, at + 8)));
    if (size < 8) break;
    at += size;
  }
  return out;
}

const leftovers = (): string[] => readdirSync(tmpRoot).filter((n) => n.startsWith('spool-video-'));

describe('video encoder', () => {
  it('writes exactly num_frames of H.264 yuv420p at fps, scaled, with faststart', async () => {
    const before = leftovers().length;
    const reply = await videoEncoderHandler(run)({
      meta: { fps: 24, num_frames: 8, width: 256, height: 256 },
      tensors: { frames: movingSquare(9, 32, 32) },
    });
    const mp4 = reply.tensors.mp4.data as Uint8Array;
    expect(reply.tensors.mp4.dtype).toBe('uint8');
    expect(reply.meta).toEqual({ frames: 8, fps: 24, width: 256, height: 256, codec: 'h264', bytes: mp4.byteLength });

    const dir = mkdtempSync(path.join(tmpdir(), 'spool-test-'));
    try {
      const file = path.join(dir, 'v.mp4');
      writeFileSync(file, mp4);
      const probe = JSON.parse(
        execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries',
          'stream=codec_name,pix_fmt,nb_read_frames,r_frame_rate,width,height', '-of', 'json', file], { encoding: 'utf8' }),
      ) as { streams: Array<Record<string, unknown>> };
      expect(probe.streams[0]).toMatchObject({
        codec_name: 'h264', pix_fmt: 'yuv420p', nb_read_frames: '8', r_frame_rate: '24/1', width: 256, height: 256,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const boxes = topLevelBoxes(mp4);
    expect(boxes).toContain('moov');
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));
    expect(leftovers().length).toBe(before);
  });

  it('accepts [T,H,W,3] frames', async () => {
    const frames = movingSquare(3, 32, 32);
    const reply = await videoEncoderHandler(run)({
      meta: { fps: 8, num_frames: 3, width: 32, height: 32 },
      tensors: { frames: tensor('uint8', frames.shape.slice(1), frames.data) },
    });
    expect(reply.meta.frames).toBe(3);
  });

  it('rejects num_frames beyond the frames received, and odd sizes, before starting ffmpeg', async () => {
    const call = (meta: Record<string, unknown>) => videoEncoderHandler(run)({ meta, tensors: { frames: movingSquare(9, 32, 32) } });
    await expect(call({ fps: 24, num_frames: 10, width: 256, height: 256 })).rejects.toThrow(
      'video-encoder: meta.num_frames 10 is more than the 9 frames received',
    );
    await expect(call({ fps: 24, num_frames: 10, width: 256, height: 256 })).rejects.toMatchObject({ code: 'SPOOL_ERR_BAD_MESSAGE' });
    await expect(call({ fps: 24, num_frames: 8, width: 255, height: 256 })).rejects.toThrow(/meta.width 255 must be an even integer/);
    await expect(call({ num_frames: 8, width: 256, height: 256 })).rejects.toThrow(/meta.fps must be a number/);
  });

  it('turns an ffmpeg failure into SPOOL_ERR_ENCODER and cleans up', async () => {
    const before = leftovers().length;
    const meta = { fps: 24, num_frames: 2, width: 64, height: 64 };
    const frames = movingSquare(2, 32, 32);
    const failing = videoEncoderHandler({ ...run, ffmpegPath: 'false' })({ meta, tensors: { frames } });
    await expect(failing).rejects.toBeInstanceOf(SpoolError);
    await expect(failing).rejects.toMatchObject({ code: 'SPOOL_ERR_ENCODER', message: expect.stringMatching(/ffmpeg exited with code 1/) });
    const missing = videoEncoderHandler({ ...run, ffmpegPath: '/nonexistent/ffmpeg' })({ meta, tensors: { frames } });
    await expect(missing).rejects.toMatchObject({ code: 'SPOOL_ERR_ENCODER', message: expect.stringMatching(/cannot run ffmpeg .*ENOENT/) });
    expect(leftovers().length).toBe(before);
  });

  it("reports ffmpeg's last stderr lines", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-test-'));
    try {
      const fake = path.join(dir, 'ffmpeg');
      writeFileSync(fake, '#!/bin/sh\ncat >/dev/null\necho "line one" >&2\necho "Unknown encoder libx264" >&2\nexit 1\n', { mode: 0o755 });
      const meta = { fps: 24, num_frames: 2, width: 64, height: 64 };
      await expect(videoEncoderHandler({ ...run, ffmpegPath: fake })({ meta, tensors: { frames: movingSquare(2, 32, 32) } })).rejects.toMatchObject({
        code: 'SPOOL_ERR_ENCODER',
        message: 'ffmpeg exited with code 1: line one\nUnknown encoder libx264',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
