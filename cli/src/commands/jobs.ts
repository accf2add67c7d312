/**
 * The commands about jobs that exist: `jobs` (the list), `status`, `cancel`
 * and `download`. Each is one request; a refusal becomes its exit code in
 * the client.
 */
import { printResult, say, type CommandContext } from '../context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { formatList, formatVideo } from '../format.ts';
import { prepareTarget, resolveTarget, STDOUT_TARGET } from '../save-video.ts';
import { videoPath, type Video, type VideoList } from '../video.ts';

export async function jobsCommand(ctx: CommandContext): Promise<ExitCode> {
  const limit = ctx.flags.limit as number | undefined;
  const list = await ctx.client.json<VideoList>('GET', `/v1/videos${limit !== undefined ? `?limit=${limit}` : ''}`, { signal: ctx.io.signal });
  printResult(ctx, list, () => formatList(list));
  return EXIT.OK;
}

export async function statusCommand(ctx: CommandContext): Promise<ExitCode> {
  const video = await ctx.client.json<Video>('GET', videoPath(ctx.args[0]!), { signal: ctx.io.signal });
  printResult(ctx, video, () => formatVideo(video));
  return EXIT.OK;
}

interface Deleted {
  readonly id: string;
  readonly object: 'video.deleted';
  readonly deleted: boolean;
  readonly cancelled: boolean;
}

export async function cancelCommand(ctx: CommandContext): Promise<ExitCode> {
  const id = ctx.args[0]!;
  const result = await ctx.client.json<Deleted>('DELETE', videoPath(id), { signal: ctx.io.signal });
  printResult(ctx, result, () =>
    result.cancelled ? `cancelled ${id}: it stops within one step and is kept as failed (spool cancel ${id} again deletes it)` : `deleted ${id} and its video`,
  );
  return EXIT.OK;
}

export async function downloadCommand(ctx: CommandContext): Promise<ExitCode> {
  const id = ctx.args[0]!;
  const saved = await downloadVideo(ctx, id, ctx.flags.output as string | undefined);
  if (saved !== STDOUT_TARGET) ctx.io.stdout.write(`${saved}\n`);
  return EXIT.OK;
}

/** Downloads a completed job's MP4 to `-o` (or `<id>.mp4`); answers the path written (`-` for stdout). */
export async function downloadVideo(ctx: CommandContext, id: string, output: string | undefined): Promise<string> {
  const target = await resolveTarget(output, `${id}.mp4`);
  const file = await prepareTarget(target);
  try {
    const res = await ctx.client.open('GET', `${videoPath(id)}/content`, { signal: ctx.io.signal, accept: 'video/mp4' });
    const saved = await file.write(res, ctx.io.signal);
    if (target !== STDOUT_TARGET && ctx.flags.quiet !== true) say(ctx, `wrote ${saved.file} (${saved.bytes} bytes)`);
    return saved.file;
  } catch (err) {
    await file.discard();
    throw err;
  }
}
