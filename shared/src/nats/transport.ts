/**
 * Moving frames over NATS. A frame that fits the server's max payload is the
 * message payload itself. A larger one is announced instead: the announce
 * names a fetch subject under the sender's own inbox prefix
 * (`<prefix>.chunks.<id>`, which only the identities it sends frames to may
 * publish to), and whichever replica took the announce from the queue group
 * pulls the chunks from it. Works the same for calls, replies and
 * shard-to-shard forwards, and for any number of replicas.
 */
import { Empty, headers as natsHeaders, nuid, PermissionViolationError, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import { chunkSubjects, isChunkSubject } from '../bus/identity.ts';
import { checkFrameSize, ChunkError, ChunkJoiner, chunkAt, DEFAULT_CHUNK_LIMITS, formatChunkAnnounce, parseChunkAnnounce, planChunks, type ChunkLimits } from '../chunking.ts';
import { wireError } from '../errors.ts';
import { inboxPrefixOf } from './connect.ts';

export const CHUNK_HEADER = 'Spool-Chunked';
/** Room left in each message for headers and protocol overhead. */
const HEADROOM = 16 * 1024;
/** Chunks pulled at once. */
const WINDOW = 4;

export function maxFrameBytes(nc: NatsConnection): number {
  const max = nc.info?.max_payload ?? 1024 * 1024;
  return Math.max(4096, max - HEADROOM);
}

/**
 * Returns the payload to send for `frame`: the frame itself, or (when it is
 * too large) an empty payload, after setting the announce header and serving
 * the chunks on a fetch inbox for `ttlMs`.
 */
export function prepareFrame(nc: NatsConnection, frame: Uint8Array, hdrs: MsgHdrs, ttlMs: number): Uint8Array {
  const limit = maxFrameBytes(nc);
  if (frame.byteLength <= limit) return frame;
  const plan = planChunks(frame.byteLength, limit);
  const fetch = `${chunkSubjects(inboxPrefixOf(nc))}.${nuid.next()}`;
  const served = new Set<number>();
  const sub = nc.subscribe(fetch, {
    callback: (err, m) => {
      if (err) return;
      const index = Number(m.string());
      try {
        m.respond(chunkAt(frame, plan, index));
        served.add(index);
      } catch (e) {
        const h = natsHeaders();
        h.set('Spool-Chunk-Error', (e as Error).message);
        m.respond(Empty, { headers: h });
      }
      if (served.size === plan.count) sub.unsubscribe();
    },
  });
  setTimeout(() => sub.unsubscribe(), ttlMs).unref();
  trackServing(nc, sub.closed);
  hdrs.set(CHUNK_HEADER, formatChunkAnnounce(plan, fetch));
  return Empty;
}

/** Fetch inboxes still serving chunks, per connection. */
const serving = new WeakMap<NatsConnection, Set<Promise<void>>>();

function trackServing(nc: NatsConnection, closed: Promise<unknown>): void {
  let pending = serving.get(nc);
  if (!pending) serving.set(nc, (pending = new Set()));
  const set = pending;
  const done: Promise<void> = closed.then(
    () => void set.delete(done),
    () => void set.delete(done),
  );
  set.add(done);
}

/**
 * Resolves once every chunked frame sent on `nc` has been pulled in full (or
 * its fetch inbox expired), or after `maxWaitMs`. A worker calls it after its
 * last call finished and before draining the connection, so a reply announced
 * just before shutdown is not cut off.
 */
export async function chunksServed(nc: NatsConnection, maxWaitMs: number): Promise<void> {
  const pending = serving.get(nc);
  if (!pending || pending.size === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([Promise.all([...pending]), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)))]);
  clearTimeout(timer);
}

export interface ReceiveOptions {
  /** Bound on each chunk pull, ms. */
  readonly timeoutMs: number;
  /** Who sent the frame, named in errors. */
  readonly from?: string;
  /** The largest frame accepted (`readFrameLimits`); DEFAULT_CHUNK_LIMITS when absent. */
  readonly limits?: ChunkLimits;
  /** The inbox prefix of the one identity that sends these frames: only its chunk subjects are pulled from. */
  readonly senderInbox?: string;
}

/**
 * Throws a ChunkError unless `subject` is a chunk subject (`<inbox
 * prefix>.chunks.<id>`), of the identity with inbox prefix `senderInbox`
 * when given. Pulls go out under the receiver's own identity: an announce
 * that could name any subject would have it send them wherever it points
 * (the next stage's subject, discovery), as far as its permissions reach.
 */
export function checkFetchSubject(subject: string, from: string, senderInbox?: string): void {
  if (isChunkSubject(subject, senderInbox)) return;
  const expected = senderInbox === undefined ? '<inbox prefix>.chunks.<id>' : `${chunkSubjects(senderInbox)}.<id>`;
  throw new ChunkError(`the chunk announce from ${from} names fetch subject ${JSON.stringify(subject)}; its chunks are pulled only from ${expected}`);
}

/**
 * The frame a message carries, pulling its chunks first when it was announced.
 * A frame over `limits` is refused (a ChunkError, a bad message): an announced
 * one before anything of its size is allocated or pulled; so is a fetch
 * subject that is not the sender's (see checkFetchSubject), and one the bus
 * does not let this identity publish to. A sender that is gone (no responder
 * on its fetch subject) or silent for `timeoutMs` fails the pull as
 * SPOOL_ERR_CALL_LOST: the call can be sent again.
 */
export async function receiveFrame(nc: NatsConnection, msg: Msg, opts: ReceiveOptions): Promise<Uint8Array> {
  const { timeoutMs, from = 'the sender', limits = DEFAULT_CHUNK_LIMITS } = opts;
  const announce = msg.headers?.has(CHUNK_HEADER) ? msg.headers.get(CHUNK_HEADER) : '';
  if (!announce) {
    checkFrameSize(msg.data.byteLength, limits, `${from} sent a frame in one message: `);
    return msg.data;
  }
  const { plan, fetchSubject } = parseChunkAnnounce(announce, limits);
  checkFetchSubject(fetchSubject, from, opts.senderInbox);
  const joiner = new ChunkJoiner(plan);
  let next = 0;
  // Once one pull fails the frame is lost: the other pulls stop at their next chunk.
  let failed = false;
  const pull = async (): Promise<void> => {
    while (!failed && next < plan.count) {
      const index = next++;
      let reply: Msg;
      try {
        reply = await nc.request(fetchSubject, String(index), { timeout: timeoutMs });
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        if (err instanceof PermissionViolationError || cause instanceof PermissionViolationError) {
          throw wireError('SPOOL_ERR_BAD_MESSAGE', `the chunk announce from ${from} names fetch subject ${JSON.stringify(fetchSubject)}, which the bus does not let this identity pull from`, { cause: err });
        }
        throw wireError('SPOOL_ERR_CALL_LOST', `could not pull chunk ${index} of ${plan.count} of a frame from ${from}: ${(err as Error).message}`, { cause: err });
      }
      const failure = reply.headers?.has('Spool-Chunk-Error') ? reply.headers.get('Spool-Chunk-Error') : '';
      if (failure) throw wireError('SPOOL_ERR_BAD_MESSAGE', `chunk ${index} of a frame from ${from}: ${failure}`);
      joiner.add(index, reply.data);
    }
  };
  const pulls = Array.from({ length: Math.min(WINDOW, plan.count) }, () =>
    pull().catch((err: unknown) => {
      failed = true;
      throw err;
    }),
  );
  await Promise.all(pulls);
  return joiner.result();
}
