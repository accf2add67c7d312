/**
 * `spool generate "prompt"`: makes a job (POST /v1/videos), shows its
 * progress on stderr while following it (`follow.ts`), then downloads the
 * MP4 and prints its path on stdout. Ctrl-C while waiting cancels the job
 * (DELETE) and exits 130; a job that ends failed (or cancelled elsewhere)
 * exits 1 with its error. `--sync` sends one POST /generate instead, which
 * answers with the MP4 when it is made (no job, no progress).
 */
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { printResult, say, type CommandContext } from '../context.ts';
import { CliError } from '../errors.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { followJob } from '../follow.ts';
import { ProgressView, progressMode } from '../progress.ts';
import { prepareTarget, resolveTarget, STDOUT_TARGET } from '../save-video.ts';
import { videoPath, videoProgress, type Video } from '../video.ts';
import { downloadVideo } from './jobs.ts';

/** How long the DELETE of a job interrupted by Ctrl-C may take. */
const CANCEL_TIMEOUT_MS = 10_000;

/** The request body from the flags: only what was given, the server's defaults for the rest. */
export function generateBody(prompt: string, flags: CommandContext['flags']): Record<string, string | number> {
  const body: Record<string, string | number> = { prompt };
  const map: [string, string][] = [
    ['frames', 'num_frames'],
    ['fps', 'fps'],
    ['steps', 'num_inference_steps'],
    ['guidance', 'guidance_scale'],
    ['guidance-rescale', 'guidance_rescale'],
    ['seed', 'seed'],
    ['negative-prompt', 'negative_prompt'],
  ];
  for (const [flag, field] of map) {
    const v = flags[flag];
    if (typeof v === 'number' || typeof v === 'string') body[field] = v;
  }
  return body;
}

export async function generateCommand(ctx: CommandContext): Promise<ExitCode> {
  const output = ctx.flags.output as string | undefined;
  await checkOutputFolder(output);
  const body = generateBody(ctx.args[0]!, ctx.flags);
  return ctx.flags.sync === true ? generateSync(ctx, body, output) : generateJob(ctx, body, output);
}

async function generateJob(ctx: CommandContext, body: Record<string, string | number>, output: string | undefined): Promise<ExitCode> {
  const { signal } = ctx.io;
  const quiet = ctx.flags.quiet === true;
  const made = await ctx.client.json<Video>('POST', '/v1/videos', { body, signal });
  if (!quiet) say(ctx, `${made.id}: ${made.num_frames} frames at ${made.fps} fps, ${made.num_inference_steps} steps, seed ${made.seed}`);
  const view = new ProgressView(ctx.io.stderr, progressMode(ctx.io.stderr, quiet));
  let video: Video;
  try {
    view.update(videoProgress(made));
    video = await followJob(ctx.client, made.id, {
      signal,
      reconnectMs: ctx.config.reconnectMs,
      onProgress: (p) => view.update(p),
      onNote: (m) => view.note(`spool: ${m}`),
    });
  } catch (err) {
    view.finish();
    if (signal.aborted) await cancelInterrupted(ctx, made.id);
    throw err;
  }
  view.finish();
  if (video.status === 'failed') {
    if (ctx.flags.json === true) printResult(ctx, video, () => '');
    const code = video.error?.code ?? 'SPOOL_ERR_UNKNOWN';
    throw new CliError(EXIT.JOB_FAILED, `${video.id} failed: ${video.error?.message ?? 'no message'}`, { code, video });
  }
  const file = await downloadVideo(ctx, video.id, output);
  if (file === STDOUT_TARGET) return EXIT.OK;
  printResult(ctx, { ...video, file }, () => file);
  return EXIT.OK;
}

/** The DELETE of a job Ctrl-C left: told on stderr, its own failure too (the interruption is what the exit code says). */
async function cancelInterrupted(ctx: CommandContext, id: string): Promise<void> {
  try {
    const res = await ctx.client.json<{ cancelled: boolean }>('DELETE', videoPath(id), { timeoutMs: CANCEL_TIMEOUT_MS });
    say(ctx, res.cancelled ? `spool: cancelled ${id}` : `spool: ${id} had already finished; deleted it`);
  } catch (err) {
    say(ctx, `spool: could not cancel ${id} (${(err as Error).message}): spool cancel ${id} does it`);
  }
}

async function generateSync(ctx: CommandContext, body: Record<string, string | number>, output: string | undefined): Promise<ExitCode> {
  if (ctx.flags.quiet !== true) say(ctx, 'waiting for the video (POST /generate answers once it is made)');
  const res = await ctx.client.open('POST', '/generate', { body, signal: ctx.io.signal, timeoutMs: 0, accept: 'video/mp4' });
  const id = res.headers.get('x-spool-request-id') ?? `spool-${Date.now()}`;
  const target = await resolveTarget(output, `${id}.mp4`);
  const file = await prepareTarget(target);
  const saved = await file.write(res, ctx.io.signal);
  if (target === STDOUT_TARGET) return EXIT.OK;
  const facts = {
    id,
    file: saved.file,
    bytes: saved.bytes,
    seed: Number(res.headers.get('x-spool-seed')),
    num_frames: Number(res.headers.get('x-spool-frames')),
    num_inference_steps: Number(res.headers.get('x-spool-steps')),
    trace_id: res.headers.get('x-spool-trace-id'),
  };
  if (ctx.flags.quiet !== true) say(ctx, `wrote ${saved.file} (${saved.bytes} bytes; seed ${facts.seed})`);
  printResult(ctx, facts, () => saved.file);
  return EXIT.OK;
}

/** Fails before a job is made when `-o` names a place that cannot be written: its folder missing or read-only. */
async function checkOutputFolder(output: string | undefined): Promise<void> {
  if (output === undefined || output === STDOUT_TARGET) return;
  const isDir = await stat(output).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const folder = isDir || output.endsWith('/') ? output : path.dirname(output);
  await access(folder, constants.W_OK).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(EXIT.OUTPUT, `cannot write ${output}: ${err.code === 'ENOENT' ? `the folder ${folder} does not exist` : `the folder ${folder} is not writable`}`);
  });
}
