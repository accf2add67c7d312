/**
 * H.264/MP4 encoding with the system's ffmpeg: raw rgb24 frames on stdin,
 * libx264 yuv420p with faststart into a temp file (faststart rewrites the
 * file, so the output must be seekable), read back and deleted. The child
 * process and the temp directory never outlive the call.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { wireError, type Tensor } from '@spool/shared';
import { frameGeometry, type VideoOptions } from './options.ts';

export interface FfmpegOptions {
  /** The ffmpeg binary (SPOOL_FFMPEG). */
  readonly ffmpegPath: string;
  /** The encode is killed after this long. */
  readonly timeoutMs: number;
  /** Where the per-encode temp folder goes; the system's temp folder when absent. */
  readonly tmpRoot?: string;
}

const STDERR_LINES = 12;

export function ffmpegArgs(input: { width: number; height: number }, o: VideoOptions, output: string): string[] {
  return [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${input.width}x${input.height}`, '-r', String(o.fps), '-i', 'pipe:0',
    '-frames:v', String(o.numFrames),
    '-vf', `scale=${o.width}:${o.height}:flags=lanczos`,
    '-c:v', 'libx264', '-preset', o.preset, '-crf', String(o.crf), '-pix_fmt', 'yuv420p',
    '-r', String(o.fps), '-movflags', '+faststart',
    '-f', 'mp4', output,
  ];
}

/** Encodes the first `numFrames` frames of uint8 [1,T,H,W,3] (or [T,H,W,3]) into MP4 bytes. */
export async function encodeVideo(frames: Tensor<'uint8'>, o: VideoOptions, run: FfmpegOptions): Promise<Uint8Array> {
  const input = frameGeometry(frames);
  if (o.numFrames > input.count) {
    throw wireError('SPOOL_ERR_BAD_MESSAGE', `video-encoder: num_frames ${o.numFrames} is more than the ${input.count} frames received`);
  }
  const bytes = frames.data.subarray(0, o.numFrames * input.height * input.width * 3);
  const dir = await mkdtemp(path.join(run.tmpRoot ?? tmpdir(), 'spool-video-'));
  const output = path.join(dir, 'out.mp4');
  try {
    await runFfmpeg(run, ffmpegArgs(input, o, output), bytes);
    const file = await readFile(output);
    return new Uint8Array(file.buffer, file.byteOffset, file.byteLength);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs ffmpeg to completion; settles only once the child has exited, so nothing writes after cleanup. */
function runFfmpeg(run: FfmpegOptions, args: string[], stdin: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn(run.ffmpegPath, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    let failure: Error | undefined;
    const stderrTail = (): string => [...tail, partial].filter((l) => l.trim() !== '').slice(-STDERR_LINES).join('\n');
    const timer = setTimeout(() => {
      failure ??= wireError('SPOOL_ERR_ENCODER', `ffmpeg did not finish within ${run.timeoutMs} ms${suffix(stderrTail())}`);
      child.kill('SIGKILL');
    }, run.timeoutMs);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      tail.push(...lines);
      if (tail.length > STDERR_LINES) tail.splice(0, tail.length - STDERR_LINES);
    });
    child.on('error', (err) => {
      failure ??= wireError('SPOOL_ERR_ENCODER', `cannot run ffmpeg (${run.ffmpegPath}; set SPOOL_FFMPEG): ${err.message}`, { cause: err });
      if (child.pid === undefined) {
        // Never started: there is no child to wait for.
        clearTimeout(timer);
        reject(failure);
      } else {
        child.kill('SIGKILL');
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (child.pid === undefined) return;
      if (!failure && code !== 0) failure = wireError('SPOOL_ERR_ENCODER', `ffmpeg exited with ${signal ?? `code ${code}`}${suffix(stderrTail())}`);
      if (failure) reject(failure);
      else resolve();
    });
    // ffmpeg may stop reading early when it fails; its exit status says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(Buffer.from(stdin.buffer, stdin.byteOffset, stdin.byteLength));
  });
}

const suffix = (stderr: string): string => (stderr ? `: ${stderr}` : '');
