/**
 * What the commands print for people (without `--json`): a job's state, the
 * list of jobs as a table, the server's info. Pure.
 */
import type { Video, VideoList } from './video.ts';

/** `2026-11-30 12:14:39` in UTC, from Unix seconds. */
export function formatTime(unixS: number | null): string {
  if (unixS === null) return '-';
  return new Date(unixS * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

/** A prompt on one line of at most `max` characters. */
export function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, Math.max(0, max - 1))}…`;
}

/** `completed`, `in_progress 46%`, `failed SPOOL_ERR_CANCELLED`. */
export function describeStatus(v: Video): string {
  if (v.status === 'in_progress') return `in_progress ${v.progress}%`;
  if (v.status === 'failed') return `failed ${v.error?.code ?? ''}`.trim();
  return v.status;
}

export function formatVideo(v: Video): string {
  const rows: [string, string][] = [
    ['id', v.id],
    ['status', v.status],
    ['progress', `${v.progress}%`],
    ...(v.error ? ([['error', `${v.error.code}: ${v.error.message}`]] as [string, string][]) : []),
    ['prompt', v.prompt],
    ['video', `${v.num_frames} frames at ${v.fps} fps (${v.seconds} s), ${v.size}`],
    ['generation', `${v.num_inference_steps} steps, guidance ${v.guidance_scale} (rescale ${v.guidance_rescale}), seed ${v.seed}`],
    ['model', v.model],
    ['created', formatTime(v.created_at)],
    ['completed', formatTime(v.completed_at)],
    ['expires', formatTime(v.expires_at)],
    ['attempts', String(v.attempts)],
  ];
  return rows.map(([k, val]) => `${k.padEnd(10)}  ${val}`).join('\n');
}

export function formatList(list: VideoList, promptWidth = 40): string {
  if (list.data.length === 0) return 'no jobs yet: spool generate "a prompt" makes one';
  const rows = [['ID', 'STATUS', 'CREATED (UTC)', 'FRAMES', 'PROMPT'], ...list.data.map((v) => [v.id, describeStatus(v), formatTime(v.created_at), `${v.num_frames}@${v.fps}`, shorten(v.prompt, promptWidth)])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
  if (list.has_more) lines.push(`(more: spool jobs --limit ${Math.min(100, list.data.length * 2)} shows more)`);
  return lines.join('\n');
}

/** The parts of GET /info the CLI prints; the rest is in --json. */
export interface ServerInfo {
  readonly model: string;
  readonly is_loaded: boolean;
  readonly error: string | null;
  readonly config: Readonly<Record<string, number>>;
  readonly limits: Readonly<Record<string, number>>;
  readonly workers: readonly { readonly role: string; readonly shard: number | null; readonly blocks: string | null; readonly device: string }[];
  readonly queue: Readonly<Record<string, number>>;
}

export function formatInfo(info: ServerInfo): string {
  const pairs = (o: Readonly<Record<string, unknown>>): string =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
  const workers = info.workers.map((w) => `${w.role}${w.shard !== null ? ` ${w.shard}` : ''}${w.blocks ? ` [${w.blocks}]` : ''} on ${w.device}`);
  return [
    `model     ${info.model} (${info.is_loaded ? 'loaded' : `not loaded: ${info.error ?? 'unknown'}`})`,
    `defaults  ${pairs(info.config)}`,
    `limits    ${pairs(info.limits)}`,
    `workers   ${workers.length === 0 ? 'none' : workers.join('; ')}`,
    `queue     ${pairs(info.queue)}`,
  ].join('\n');
}
