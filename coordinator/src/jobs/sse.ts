/**
 * A job's events as a Server-Sent Events stream (`text/event-stream`): each
 * event as `event:` and `data:` lines, a comment every `heartbeatMs` so that
 * proxies do not cut a stream that is quiet (a job queued for minutes), and
 * the end of the stream after the last event. The stream stops, and frees
 * what it listened to, when the client goes away (`signal`). A failure
 * while streaming (the store became unreachable) ends it with an `error`
 * event.
 */
import { PassThrough, type Readable } from 'node:stream';
import { isSpoolError } from '@spool/shared';
import { formatError, formatEvent, HEARTBEAT, type JobEvent } from './job-events.ts';

/** Comments this often keep an idle stream open through proxies that cut connections silent for 30-60 s. */
export const DEFAULT_HEARTBEAT_MS = 15_000;

/** Response headers of an event stream: no caching, and no buffering by nginx-style proxies. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};

export function eventStream(events: AsyncIterator<JobEvent>, opts: { heartbeatMs: number; signal: AbortSignal; onError?: (err: unknown) => void }): Readable {
  const out = new PassThrough();
  const heartbeat = setInterval(() => out.write(HEARTBEAT), opts.heartbeatMs);
  heartbeat.unref();
  const stop = (): void => {
    clearInterval(heartbeat);
    void events.return?.();
  };
  opts.signal.addEventListener('abort', stop, { once: true });
  out.on('close', stop);
  void (async () => {
    try {
      for (;;) {
        const next = await events.next();
        if (next.done || out.destroyed) break;
        out.write(formatEvent(next.value));
      }
    } catch (err) {
      opts.onError?.(err);
      if (!out.destroyed) out.write(isSpoolError(err) ? formatError(err.code, err.message) : formatError('SPOOL_ERR_INTERNAL', 'the event stream failed unexpectedly'));
    } finally {
      clearInterval(heartbeat);
      opts.signal.removeEventListener('abort', stop);
      out.end();
    }
  })();
  return out;
}
