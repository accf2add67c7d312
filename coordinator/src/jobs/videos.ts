/**
 * Finished videos as the job store hands them out: what one is (size, type,
 * digest, when it was stored) and its bytes, as a stream or one buffer.
 */
import type { ObjectInfo } from '@nats-io/obj';

/**
 * Bytes per object-store chunk: each chunk is one acknowledged JetStream
 * publish, so bigger chunks mean fewer round trips (the client lowers it to
 * the server's max payload when that is smaller).
 */
export const VIDEO_CHUNK_BYTES = 1024 * 1024;
/** A read that gets no chunk for this long fails rather than wait for ever (a stalled consumer, NATS gone). */
export const VIDEO_READ_IDLE_MS = 10_000;

/**
 * How long before its age limit a stored video counts as gone already: a
 * tenth of the limit, at most a minute (its chunks, written before its
 * metadata, expire first).
 */
export function expiryMargin(maxAgeMs: number): number {
  return Math.min(60_000, maxAgeMs / 10);
}

export interface StoredVideo {
  readonly caller: string;
  readonly id: string;
  readonly bytes: number;
  readonly contentType: string;
  /** `SHA-256=<base64url>` of the bytes, checked on every read. */
  readonly digest: string;
  /** When it was stored, ms since the epoch. */
  readonly storedAt: number;
}

export interface VideoRead {
  readonly video: StoredVideo;
  /** Errors if the read fails or the bytes do not match the digest. */
  readonly stream: ReadableStream<Uint8Array>;
}

export function videoInfo(caller: string, id: string, info: ObjectInfo): StoredVideo {
  return {
    caller,
    id,
    bytes: info.size,
    contentType: info.metadata?.['content-type'] ?? 'application/octet-stream',
    digest: info.digest,
    storedAt: Date.parse(info.mtime),
  };
}

/** Reads a stream of `size` bytes into one buffer. */
export async function readAll(stream: ReadableStream<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let at = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.byteLength > size) throw new Error(`the stored video is longer than the ${size} bytes its metadata says`);
    out.set(value, at);
    at += value.byteLength;
  }
  if (at !== size) throw new Error(`the stored video ended after ${at} of ${size} bytes`);
  return out;
}

/** `stream`, failing with `why()` when no chunk comes for `idleMs`. */
export function withIdleTimeout(stream: ReadableStream<Uint8Array>, idleMs: number, why: () => Error): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(why()), idleMs);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), idle]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
        reader.cancel(err).catch(() => undefined);
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
