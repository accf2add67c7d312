/**
 * Whether the body of a 200 is the video that was asked for: ffprobe must
 * read it as H.264 and count exactly the frames requested.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface VideoCheck {
  readonly valid: boolean;
  readonly codec?: string;
  readonly frames?: number;
  /** Why it is not valid: ffprobe's complaint, or what differs. */
  readonly problem?: string;
}

export async function checkMp4(bytes: Uint8Array, expectedFrames: number, dir: string): Promise<VideoCheck> {
  const file = path.join(dir, `check-${process.pid}-${Math.random().toString(36).slice(2)}.mp4`);
  writeFileSync(file, bytes);
  try {
    const { stdout } = await run('ffprobe', [
      '-v', 'error', '-select_streams', 'v:0', '-count_frames',
      '-show_entries', 'stream=codec_name,nb_read_frames', '-of', 'json', file,
    ]);
    const s = (JSON.parse(stdout) as { streams?: Array<Record<string, string | number>> }).streams?.[0];
    if (!s) return { valid: false, problem: 'no video stream' };
    const codec = String(s.codec_name);
    const frames = Number(s.nb_read_frames);
    const problems = [
      ...(codec === 'h264' ? [] : [`codec ${codec}, not h264`]),
      ...(frames === expectedFrames ? [] : [`${frames} frames, not ${expectedFrames}`]),
    ];
    return { valid: problems.length === 0, codec, frames, ...(problems.length ? { problem: problems.join('; ') } : {}) };
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    return { valid: false, problem: `ffprobe: ${stderr || (err as Error).message}`.slice(0, 300) };
  } finally {
    rmSync(file, { force: true });
  }
}

/** Checks the MP4 of every request that has one, two at a time. */
export async function checkAll<T extends { body?: Buffer; num_frames: number }>(requests: readonly T[]): Promise<Map<T, VideoCheck>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-mp4-'));
  const out = new Map<T, VideoCheck>();
  const queue = requests.filter((r) => r.body !== undefined);
  try {
    const worker = async (): Promise<void> => {
      for (let r = queue.shift(); r; r = queue.shift()) out.set(r, await checkMp4(r.body!, r.num_frames, dir));
    };
    await Promise.all([worker(), worker()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
