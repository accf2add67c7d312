/**
 * The videos bucket: a JetStream object store holding each finished video
 * under `<caller>.<id>`, its content type in the object's metadata and its
 * SHA-256 checked on every read. A video about to expire counts as gone
 * already: its chunks, written before its metadata, expire first.
 */
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { coordinatorError } from '../errors.ts';
import type { JobStoreLimits } from './limits.ts';
import { isCaller, isJobId, recordKey } from './record.ts';
import { storeError } from './store-errors.ts';
import { expiryMargin, readAll, videoInfo, VIDEO_CHUNK_BYTES, withIdleTimeout, type StoredVideo, type VideoRead } from './videos.ts';

export class VideoBucket {
  readonly #os: ObjectStore;
  readonly #maxAgeMs: number;
  readonly #readIdleMs: number;

  constructor(os: ObjectStore, limits: JobStoreLimits, readIdleMs: number) {
    this.#os = os;
    this.#maxAgeMs = limits.maxAgeMs;
    this.#readIdleMs = readIdleMs;
  }

  async put(caller: string, id: string, bytes: Uint8Array, contentType: string): Promise<StoredVideo> {
    if (!isCaller(caller)) throw new RangeError(`"${caller}" is not a caller (1 to 64 letters, digits, "-" or "_")`);
    if (!isJobId(id)) throw new RangeError(`"${id}" is not a job id`);
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(contentType)) throw new RangeError(`"${contentType}" is not a content type (type/subtype)`);
    try {
      const meta = { name: recordKey(caller, id), metadata: { 'content-type': contentType }, options: { max_chunk_size: VIDEO_CHUNK_BYTES } };
      return videoInfo(caller, id, await this.#os.putBlob(meta, bytes));
    } catch (err) {
      throw storeError(err, `storing the video of ${id} (${bytes.byteLength} bytes)`);
    }
  }

  async read(caller: string, id: string): Promise<VideoRead | null> {
    if (!isCaller(caller) || !isJobId(id)) return null;
    try {
      if (!(await this.#info(caller, id))) return null;
      const got = await this.#os.get(recordKey(caller, id));
      if (!got) return null;
      // The stream itself errors when the read fails; this promise says the same and must not go unhandled.
      got.error.catch(() => undefined);
      const stalled = (): Error =>
        coordinatorError('SPOOL_ERR_STORAGE_UNAVAILABLE', `reading the video of ${id}: no data came for ${this.#readIdleMs} ms (is NATS reachable?)`);
      return { video: videoInfo(caller, id, got.info), stream: withIdleTimeout(got.data, this.#readIdleMs, stalled) };
    } catch (err) {
      throw storeError(err, `reading the video of ${id}`);
    }
  }

  async bytes(caller: string, id: string): Promise<{ video: StoredVideo; bytes: Uint8Array } | null> {
    const read = await this.read(caller, id);
    if (!read) return null;
    try {
      return { video: read.video, bytes: await readAll(read.stream, read.video.bytes) };
    } catch (err) {
      throw storeError(err, `reading the video of ${id}`);
    }
  }

  async info(caller: string, id: string): Promise<StoredVideo | null> {
    if (!isCaller(caller) || !isJobId(id)) return null;
    try {
      const info = await this.#info(caller, id);
      return info ? videoInfo(caller, id, info) : null;
    } catch (err) {
      throw storeError(err, `reading the video of ${id}`);
    }
  }

  async delete(caller: string, id: string): Promise<boolean> {
    if (!isCaller(caller) || !isJobId(id)) return false;
    try {
      if (!(await this.#info(caller, id))) return false;
      return (await this.#os.delete(recordKey(caller, id))).success;
    } catch (err) {
      throw storeError(err, `deleting the video of ${id}`);
    }
  }

  /** Bytes the bucket holds. */
  async size(): Promise<number> {
    return (await this.#os.status()).size;
  }

  /** A video's metadata, unless it is deleted or within a tenth of the age limit (at most a minute) of expiring. */
  async #info(caller: string, id: string): Promise<ObjectInfo | null> {
    const info = await this.#os.info(recordKey(caller, id));
    if (!info || info.deleted) return null;
    return Date.parse(info.mtime) + this.#maxAgeMs - expiryMargin(this.#maxAgeMs) <= Date.now() ? null : info;
  }
}
