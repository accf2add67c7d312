/**
 * Following a job to its end: its event stream (`GET /v1/videos/{id}/events`)
 * while it lasts, and when it breaks (the coordinator restarted, a proxy cut
 * it, it went silent past its heartbeats, the job store failed under it),
 * polls of the job until the server answers again, then the stream again.
 * It gives up only on an answer that will not change (401, 404) or after
 * `reconnectMs` without reaching the server at all. Ctrl-C (`signal`)
 * aborts it as an AbortError, for the caller to cancel the job.
 */
import type { SpoolClient } from './client.ts';
import { CliError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import type { JobProgress } from './progress.ts';
import { readSse } from './sse.ts';
import { eventProgress, isFinished, videoOf, videoPath, videoProgress, type Video, type VideoEvent } from './video.ts';

/** A stream with no bytes for this long is taken as dead: the server sends a comment every 15 s. */
export const DEFAULT_IDLE_MS = 45_000;

export interface FollowOptions {
  /** Ctrl-C. */
  readonly signal: AbortSignal;
  /** How long to keep trying to reach a server that went away, ms. */
  readonly reconnectMs: number;
  readonly idleMs?: number;
  readonly onProgress: (p: JobProgress) => void;
  /** A line worth telling (the stream lost, the server back). */
  readonly onNote: (message: string) => void;
}

type StreamEnd = { readonly video: Video } | { readonly broken: string };

/** Whether an error may pass once the server is back: it could not be reached, was not ready (503), or a proxy failed (502, 504). */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof CliError)) return false;
  if (err.exit === EXIT.UNREACHABLE) return true;
  return err.details.status === 502 || err.details.status === 504;
}

export async function followJob(client: SpoolClient, id: string, opts: FollowOptions): Promise<Video> {
  let lastContact = Date.now();
  let lostSince: number | undefined;
  let pauseMs = 250;
  const back = (): void => {
    lastContact = Date.now();
    pauseMs = 250;
    if (lostSince !== undefined) opts.onNote(`reconnected to ${client.server.url} after ${Math.round((Date.now() - lostSince) / 1000)} s`);
    lostSince = undefined;
  };
  const lost = (why: string): void => {
    if (lostSince === undefined) opts.onNote(`lost the event stream of ${id} (${why}); trying again until it ends`);
    lostSince ??= Date.now();
  };
  for (;;) {
    let why: string;
    try {
      const end = await streamOnce(client, id, opts, back);
      if ('video' in end) return end.video;
      why = end.broken;
    } catch (err) {
      if (opts.signal.aborted || !isTransient(err)) throw err;
      why = (err as Error).message;
    }
    lost(why);
    try {
      const video = await client.json<Video>('GET', videoPath(id), { signal: opts.signal });
      back();
      opts.onProgress(videoProgress(video));
      if (isFinished(video)) return video;
    } catch (err) {
      if (opts.signal.aborted || !isTransient(err)) throw err;
      if (Date.now() - lastContact > opts.reconnectMs) {
        throw new CliError(
          EXIT.UNREACHABLE,
          `gave up waiting for ${id} after ${Math.round((Date.now() - lastContact) / 1000)} s without reaching the server (${(err as Error).message}); ` +
            `the job may still be running there: \`spool status ${id}\` tells, \`spool download ${id}\` fetches it once completed`,
        );
      }
    }
    await sleep(pauseMs, opts.signal);
    pauseMs = Math.min(2_000, pauseMs * 2);
  }
}

/** Reads the event stream once: to the job's last event, or until it breaks. */
async function streamOnce(client: SpoolClient, id: string, opts: FollowOptions, connected: () => void): Promise<StreamEnd> {
  const idle = new AbortController();
  const signal = AbortSignal.any([opts.signal, idle.signal]);
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  let timer: NodeJS.Timeout | undefined;
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  try {
    const res = await client.open('GET', `${videoPath(id)}/events`, { signal, accept: 'text/event-stream' });
    connected();
    alive();
    for await (const e of readSse(res.body!, alive)) {
      if (e.event === 'error') return { broken: `the server said ${describeStreamError(e.data)}` };
      if (e.event !== 'phase' && e.event !== 'step' && e.event !== 'completed' && e.event !== 'failed') continue;
      const data = parseEventData(e.data, e.event);
      opts.onProgress(eventProgress(data));
      if (e.event === 'completed' || e.event === 'failed') return { video: videoOf(data) };
    }
    return { broken: 'the stream ended before the job did' };
  } catch (err) {
    if (opts.signal.aborted) throw err;
    if (idle.signal.aborted) return { broken: `no data for ${Math.round(idleMs / 1000)} s` };
    if (err instanceof CliError) throw err;
    // The body broke off mid-stream (a reset, a killed server).
    return { broken: `the connection broke: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

function parseEventData(data: string, event: string): VideoEvent {
  try {
    const v = JSON.parse(data) as VideoEvent;
    if (typeof v === 'object' && v !== null && typeof v.id === 'string' && typeof v.status === 'string') return v;
  } catch {
    // answered below
  }
  throw new CliError(EXIT.SERVER_ERROR, `the job's event stream sent a ${event} event that is not a video object: ${data.slice(0, 200)}`);
}

function describeStreamError(data: string): string {
  try {
    const e = JSON.parse(data) as { code?: string; message?: string };
    return `${e.code ?? 'an error'}: ${e.message ?? ''}`.trim();
  } catch {
    return data.slice(0, 200);
  }
}

/** Waits `ms`, or until `signal` aborts (then rejects with its reason). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
