/**
 * Steady load: a few clients, each sending one small `POST /generate` after
 * another (seeds and prompts varied), recording every request's times,
 * status, error code, Retry-After, X-Spool-Retries and bytes. A refused
 * request is followed by a short pause (its Retry-After, capped), so clients
 * keep knocking while a server drains or is gone. Bounded by a request count
 * and by the caller's stop condition.
 */
import { secs, sleep, type Clock } from './clock.ts';
import { isFailure, request } from './http.ts';

export interface GenerateBody {
  readonly prompt: string;
  readonly num_frames: number;
  readonly num_inference_steps: number;
  readonly seed: number;
}

export interface SentRequest {
  /** In sending order, from 0. */
  readonly seq: number;
  readonly client: number;
  readonly seed: number;
  readonly num_frames: number;
  /** Seconds on the run's clock. */
  readonly start: number;
  readonly end: number;
  /** 0 when no HTTP answer came (see `error`). */
  readonly status: number;
  /** The body's SPOOL_ERR_* code, or the network error (ECONNREFUSED, ECONNRESET, TIMEOUT). */
  readonly code?: string;
  readonly message?: string;
  readonly retry_after_s?: number;
  /** X-Spool-Retries: stage calls of this request that were sent again. */
  readonly retries?: number;
  readonly request_id?: string;
  readonly bytes: number;
  /** The MP4 of a 200, kept for checking after the run. */
  readonly body?: Buffer;
}

export interface LoadOptions {
  readonly url: string;
  readonly token: string;
  readonly clients: number;
  readonly clock: Clock;
  readonly numFrames: number;
  readonly steps: number;
  /** No request is sent after this many. */
  readonly maxRequests: number;
  /** Checked before each request; true ends that client. */
  readonly stop: () => boolean;
  /** Per request; default 120 s. */
  readonly timeoutMs?: number;
  /** Longest pause after a refusal, ms; default 500. */
  readonly maxPauseMs?: number;
  /** Called as each request ends. */
  readonly onDone?: (r: SentRequest) => void;
}

/** Prompts the default model knows; varied with the seed. */
export const PROMPTS: readonly string[] = [
  'a red circle moving left on a blue background',
  'a yellow square moving down on a purple background',
  'a white triangle moving right on a green background',
  'A serene sunset over the ocean with birds flying in the sky.',
  'snow falling at night',
  'rain over a city skyline',
];

export interface Load {
  /** Requests sent so far (finished or not). */
  sent(): number;
  /** Requests started and not yet ended, by seq. */
  inFlight(): number[];
  /** Resolves with every request in sending order once every client has stopped. */
  readonly done: Promise<SentRequest[]>;
}

export function runLoad(o: LoadOptions): Load {
  const records: SentRequest[] = [];
  const open = new Set<number>();
  let seq = 0;
  const client = async (k: number): Promise<void> => {
    while (!o.stop() && seq < o.maxRequests) {
      const s = seq++;
      const seed = 1000 + s;
      const body: GenerateBody = { prompt: PROMPTS[s % PROMPTS.length], num_frames: o.numFrames, num_inference_steps: o.steps, seed };
      open.add(s);
      const start = o.clock.now();
      const r = await request(`${o.url}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        timeoutMs: o.timeoutMs ?? 120_000,
      });
      const end = o.clock.now();
      open.delete(s);
      const base = { seq: s, client: k, seed, num_frames: o.numFrames, start: secs(start), end: secs(end) };
      let rec: SentRequest;
      if (isFailure(r)) rec = { ...base, status: 0, code: r.error, bytes: 0 };
      else {
        const header = (name: string): string | undefined => {
          const v = r.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        const retryAfter = header('retry-after');
        const retries = header('x-spool-retries');
        rec = {
          ...base,
          status: r.status,
          ...(r.status === 200 ? { body: r.body } : errorOf(r.body)),
          ...(retryAfter !== undefined ? { retry_after_s: Number(retryAfter) } : {}),
          ...(retries !== undefined ? { retries: Number(retries) } : {}),
          request_id: header('x-spool-request-id'),
          bytes: r.body.byteLength,
        };
      }
      records.push(rec);
      o.onDone?.(rec);
      const pause = rec.status === 200 ? 0 : rec.retry_after_s !== undefined ? Math.min(rec.retry_after_s * 1000, o.maxPauseMs ?? 500) : 250;
      if (pause > 0) await sleep(pause);
    }
  };
  const done = Promise.all(Array.from({ length: o.clients }, (_, k) => client(k))).then(() => records.sort((a, b) => a.seq - b.seq));
  return { sent: () => seq, inFlight: () => [...open], done };
}

/** The code and message of an error body, when it is one. */
function errorOf(body: Buffer): { code?: string; message?: string } {
  try {
    const json = JSON.parse(body.toString('utf8')) as { code?: unknown; message?: unknown };
    return { code: typeof json.code === 'string' ? json.code : undefined, message: typeof json.message === 'string' ? json.message : undefined };
  } catch {
    return { code: 'NOT_JSON', message: body.subarray(0, 200).toString('utf8') };
  }
}
