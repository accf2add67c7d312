/** What a real ffprobe and ffmpeg say about an MP4. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface VideoFacts {
  readonly codec: string;
  readonly pixFmt: string;
  readonly frames: number;
  readonly fps: string;
  readonly width: number;
  readonly height: number;
}

export async function probe(file: string): Promise<VideoFacts> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_entries', 'stream=codec_name,pix_fmt,nb_read_frames,r_frame_rate,width,height',
    '-of', 'json', file,
  ]);
  const s = (JSON.parse(stdout) as { streams: Array<Record<string, string | number>> }).streams[0];
  return {
    codec: String(s.codec_name),
    pixFmt: String(s.pix_fmt),
    frames: Number(s.nb_read_frames),
    fps: String(s.r_frame_rate),
    width: Number(s.width),
    height: Number(s.height),
  };
}

/** Decoded frames as raw RGB bytes, for comparing two videos' pictures. */
export async function decodeRgb(file: string): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 512 * 1024 * 1024,
  });
  return stdout;
}

/** True when the MP4's `moov` box comes before `mdat` (faststart). */
export function moovBeforeMdat(bytes: Uint8Array): boolean {
  let offset = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (offset + 8 <= bytes.byteLength) {
    const size = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (type === 'moov') return true;
    if (type === 'mdat') return false;
    if (size < 8) return false;
    offset += size;
  }
  return false;
}
