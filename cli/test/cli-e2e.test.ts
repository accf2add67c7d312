/**
 * The `spool` command end to end: the real bin as a child process against a
 * real stack (its own nats-server with JetStream, the five workers running
 * cogvideox-tiny, ffmpeg, the coordinator over HTTP). A video is generated
 * and checked by ffprobe; the job is listed, its status read, downloaded
 * again byte for byte; info and health answer; a wrong token exits 4, a
 * refused body 5; a running job cancelled with `spool cancel` makes the
 * waiting `generate` exit 1 with SPOOL_ERR_CANCELLED, and Ctrl-C (SIGINT)
 * cancels the job it waits for and exits 130; a coordinator killed and
 * started again while `generate` waits is followed through to the video.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_LAYOUT, loadLayout, modelFacts, startStack, type Stack } from '@spool/infra';
import { loadModelPackage, MODELS_DIR } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe } from '../../infra/test/helpers/media.ts';
import { EXIT } from '../src/exit-codes.ts';
import { REPO_ROOT, runBin, startBin, type BinOptions } from './helpers/run-bin.ts';

const TOKEN = 'cli-e2e-token-0123456789abcdef';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;
const LAYOUT = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } });
/** A small video: 9 frames at 8 fps. */
const SMALL = ['--frames', '9', '--fps', '8'];

interface Video {
  id: string;
  status: string;
  progress: number;
  num_frames: number;
  error: { code: string; message: string } | null;
  file?: string;
}

describe('spool against a real stack', () => {
  let stack: Stack;
  let dir: string;
  let opts: BinOptions;
  const spool = (args: readonly string[]) => runBin(args, opts);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-cli-e2e-'));
    stack = await startStack({ modelDir: MODEL_DIR, layout: LAYOUT, tokens: [TOKEN], port: 0, logDir: path.join(dir, 'logs'), env: { SPOOL_LOG_LEVEL: 'info' } });
    opts = { cwd: dir, env: { SPOOL_URL: stack.url, SPOOL_TOKEN: TOKEN } };
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('generates a video, lists it, tells its status, downloads it again; info and health answer', async () => {
    const out = path.join(dir, 'circle.mp4');
    const made = await spool(['generate', 'a red circle moving left on a blue background', ...SMALL, '--steps', '3', '--seed', '21', '-o', out]);
    expect(made.code, made.stderr).toBe(EXIT.OK);
    expect(made.stdout).toBe(`${out}\n`);
    // stderr is not a terminal here: the job's line, then one plain line per phase and step seen (a job this
    // short may be past some before its events are read), then the file written.
    const lines = made.stderr.trimEnd().split('\n');
    const id = /^(video_[0-9a-f]+): 9 frames at 8 fps, 3 steps, seed 21$/.exec(lines[0]!)?.[1];
    expect(id, made.stderr).toBeDefined();
    expect(lines[1]).toBe('queued  0%  (0s)');
    const plain = /^(queued|encoding the prompt|denoising step [0-3]\/3|decoding|completed) +\d+%  \(\d+s\)$/;
    expect(lines.slice(1, -1).filter((line) => !plain.test(line))).toEqual([]);
    expect(lines.at(-2)).toMatch(/^completed  100%/);
    expect(lines.at(-1)).toMatch(new RegExp(`^wrote ${out} \\(\\d+ bytes\\)$`));
    expect(await probe(out)).toEqual({ codec: 'h264', pixFmt: 'yuv420p', frames: 9, fps: '8/1', width: manifest.video.output_width, height: manifest.video.output_height });

    // Without -o, into the working folder as <id>.mp4; --json prints the video object with the file.
    const quiet = await spool(['generate', 'snow falling at night', ...SMALL, '--steps', '2', '--quiet', '--json']);
    expect(quiet.code, quiet.stderr).toBe(EXIT.OK);
    expect(quiet.stderr).toBe('');
    const second = JSON.parse(quiet.stdout) as Video;
    expect(second).toMatchObject({ status: 'completed', progress: 100, num_frames: 9, file: `${second.id}.mp4` });
    expect((await probe(path.join(dir, second.file!))).frames).toBe(9);

    // --sync: one POST /generate answering with the MP4, no job made.
    const direct = path.join(dir, 'direct.mp4');
    const sync = await spool(['generate', 'rain over a city skyline', ...SMALL, '--steps', '2', '--sync', '-o', direct]);
    expect(sync.code, sync.stderr).toBe(EXIT.OK);
    expect(sync.stdout).toBe(`${direct}\n`);
    expect((await probe(direct)).frames).toBe(9);

    const jobs = await spool(['jobs', '--json']);
    expect(jobs.code).toBe(EXIT.OK);
    const list = JSON.parse(jobs.stdout) as { object: string; data: Video[] };
    expect(list.object).toBe('list');
    expect(list.data.map((v) => [v.id, v.status])).toEqual([
      [second.id, 'completed'],
      [id, 'completed'],
    ]);
    const table = await spool(['jobs', '--limit', '1']);
    expect(table.stdout).toMatch(new RegExp(`^${second.id}\\s+completed\\s`, 'm'));
    expect(table.stdout).not.toContain(id!);

    const status = await spool(['status', id!]);
    expect(status.code).toBe(EXIT.OK);
    expect(status.stdout).toMatch(/^status +completed$/m);
    expect(JSON.parse((await spool(['status', id!, '--json'])).stdout)).toMatchObject({ id, status: 'completed', seed: 21 });

    const again = path.join(dir, 'again.mp4');
    const download = await spool(['download', id!, '-o', again]);
    expect(download).toMatchObject({ code: EXIT.OK, stdout: `${again}\n` });
    expect(readFileSync(again).equals(readFileSync(out))).toBe(true);

    const info = await spool(['info', '--json']);
    expect(info.code).toBe(EXIT.OK);
    expect(JSON.parse(info.stdout)).toMatchObject({ model: manifest.name, is_loaded: true });
    expect((await spool(['info'])).stdout).toMatch(new RegExp(`^model +${manifest.name} \\(loaded\\)`, 'm'));
    expect(await spool(['health'])).toMatchObject({ code: EXIT.OK, stdout: `healthy: ${stack.url}\n` });
  });

  it("exits 4 for a refused token, 5 with the server's message for a refused request", async () => {
    const denied = await spool(['jobs', '--token', 'not-the-token-0123456789']);
    expect(denied.code).toBe(EXIT.UNAUTHORIZED);
    expect(denied.stderr).toMatch(/^spool: SPOOL_ERR_UNAUTHORIZED: .*the token from --token was refused/m);
    const refused = await spool(['generate', 'a red circle', '--frames', '500']);
    expect(refused.code).toBe(EXIT.REFUSED);
    expect(refused.stderr).toContain('SPOOL_ERR_VALIDATION: num_frames must be an integer from');
    const unknown = await spool(['status', 'video_00000000000000000000000000000000']);
    expect(unknown.code).toBe(EXIT.REFUSED);
    expect(unknown.stderr).toContain('SPOOL_ERR_JOB_NOT_FOUND');
  });

  it('a job cancelled with `spool cancel` ends the waiting generate with exit 1; Ctrl-C cancels the job it waits for, exit 130', async () => {
    const waiting = startBin(['generate', 'rain over a city skyline', ...SMALL, '--steps', '100'], opts);
    const id = (await waiting.waitForStderr(/^(video_[0-9a-f]+):/m))[1]!;
    await waiting.waitForStderr(/denoising step [2-9]\/100/);
    const cancel = await spool(['cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(EXIT.OK);
    expect(cancel.stdout).toContain(`cancelled ${id}`);
    const ended = await waiting.done;
    expect(ended.code).toBe(EXIT.JOB_FAILED);
    expect(ended.stderr).toMatch(new RegExp(`^spool: SPOOL_ERR_CANCELLED: ${id} failed: `, 'm'));
    expect(ended.stdout).toBe('');
    expect(JSON.parse((await spool(['status', id, '--json'])).stdout)).toMatchObject({ status: 'failed', error: { code: 'SPOOL_ERR_CANCELLED' } });

    const interrupted = startBin(['generate', 'a green square moving up', ...SMALL, '--steps', '100'], opts);
    const id2 = (await interrupted.waitForStderr(/^(video_[0-9a-f]+):/m))[1]!;
    await interrupted.waitForStderr(/denoising step [2-9]\/100/);
    interrupted.child.kill('SIGINT');
    const stopped = await interrupted.done;
    expect(stopped.code).toBe(EXIT.INTERRUPTED);
    expect(stopped.stderr).toContain(`spool: cancelled ${id2}`);
    expect(JSON.parse((await spool(['status', id2, '--json'])).stdout)).toMatchObject({ status: 'failed', error: { code: 'SPOOL_ERR_CANCELLED' } });
  });

  it('follows a job through a coordinator killed and started again, to its video', async () => {
    const out = path.join(dir, 'restart.mp4');
    const waiting = startBin(['generate', 'a yellow triangle moving right', ...SMALL, '--steps', '100', '-o', out], opts);
    await waiting.waitForStderr(/denoising step (1[0-9])\/100/);
    await stack.stopProcess('coordinator', 'SIGKILL');
    await stack.startProcess('coordinator');
    const ended = await waiting.done;
    expect(ended.code, ended.stderr).toBe(EXIT.OK);
    expect(ended.stderr).toContain('lost the event stream');
    expect(ended.stderr).toContain('completed  100%');
    expect(ended.stdout).toBe(`${out}\n`);
    expect((await probe(out)).frames).toBe(9);
  });
});
