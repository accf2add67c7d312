/** What Debian's ffprobe and ffmpeg make of a PNG file: codec, size and decoded pixels. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Rgb } from '../../src/plot/index.ts';

const run = promisify(execFile);

export interface PngFacts {
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  readonly pixFmt: string;
}

export async function probePng(file: string): Promise<PngFacts> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,pix_fmt', '-of', 'json', file]);
  const s = (JSON.parse(stdout) as { streams: Array<Record<string, string | number>> }).streams[0];
  return { codec: String(s.codec_name), width: Number(s.width), height: Number(s.height), pixFmt: String(s.pix_fmt) };
}

/** The picture as ffmpeg decodes it, `channels` bytes per pixel (rgb24 or rgba). */
export class Decoded {
  constructor(
    readonly bytes: Buffer,
    readonly width: number,
    readonly height: number,
    readonly channels: 3 | 4,
  ) {}

  static async from(file: string, width: number, height: number, channels: 3 | 4 = 3): Promise<Decoded> {
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', channels === 4 ? 'rgba' : 'rgb24', '-'], {
      encoding: 'buffer',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (stdout.length !== width * height * channels) throw new Error(`ffmpeg gave ${stdout.length} bytes, ${width}x${height}x${channels} expected`);
    return new Decoded(stdout, width, height, channels);
  }

  rgb(x: number, y: number): Rgb {
    const at = (y * this.width + x) * this.channels;
    return [this.bytes[at], this.bytes[at + 1], this.bytes[at + 2]];
  }

  is(x: number, y: number, color: Rgb): boolean {
    const [r, g, b] = this.rgb(x, y);
    return r === color[0] && g === color[1] && b === color[2];
  }

  /** How many pixels of the column x, rows y0..y1, carry `color`. */
  countInColumn(x: number, y0: number, y1: number, color: Rgb): number {
    let n = 0;
    for (let y = y0; y <= y1; y++) if (this.is(x, y, color)) n++;
    return n;
  }
}
