/**
 * Splitting a frame larger than the server's max payload into chunks and
 * joining them again. Pure: the NATS binding moves the chunks.
 *
 * The announce header comes from the bus, so parsing it is total: anything
 * malformed or over the receiver's limits throws a ChunkError (a FrameError,
 * so the binding reports it as a bad message) before the joiner allocates
 * the announced size.
 */
import { FrameError } from './frame-layout.ts';

export class ChunkError extends FrameError {
  override readonly name: string = 'ChunkError';
}

export interface ChunkPlan {
  readonly total: number;
  readonly chunkSize: number;
  readonly count: number;
}

/** What a receiver accepts from an announce. */
export interface ChunkLimits {
  /** Largest frame, in bytes, that the joiner may allocate. */
  readonly maxTotalBytes: number;
  /** Most chunks one frame may be split into. */
  readonly maxChunks: number;
  /** Where `maxTotalBytes` comes from, named when a frame is over it (`SPOOL_MAX_FRAME_MB=2048`). */
  readonly setting?: string;
}

/**
 * The largest frame a process accepts by default, in MiB (SPOOL_MAX_FRAME_MB).
 * The largest frames are the hidden states one denoiser shard passes to the
 * next. For CogVideoX-5B (49 frames at 720×480: 226 text tokens + 13 latent
 * frames of 30×45 patches = 17,776 positions of 3,072 floats) one request's
 * conditional and unconditional pair is [2, 17776, 3072] in float32, about
 * 437 MB; the step batcher merges up to 4 requests into one call, about
 * 1.75 GB. 2048 MiB holds that with some room, and stays below the 4 GiB a
 * single buffer may have in Node.
 */
export const DEFAULT_MAX_FRAME_MB = 2048;

/** 2048 MiB in at most 65,536 chunks: at any chunk size from 32 KiB up. */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = Object.freeze({ maxTotalBytes: DEFAULT_MAX_FRAME_MB * 1024 ** 2, maxChunks: 65_536 });

/** Longest fetch subject an announce may name. */
export const MAX_FETCH_SUBJECT_LENGTH = 256;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function planChunks(total: number, chunkSize: number): ChunkPlan {
  if (!isCount(total)) throw new ChunkError(`frame size must be a non-negative integer, got ${total}`);
  if (!isCount(chunkSize) || chunkSize === 0) throw new ChunkError(`chunk size must be a positive integer, got ${chunkSize}`);
  return { total, chunkSize, count: Math.max(1, Math.ceil(total / chunkSize)) };
}

function checkIndex(plan: ChunkPlan, index: unknown): asserts index is number {
  if (!isCount(index) || index >= plan.count) throw new ChunkError(`chunk ${String(index)} is outside 0..${plan.count - 1}`);
}

export function chunkAt(bytes: Uint8Array, plan: ChunkPlan, index: number): Uint8Array {
  checkIndex(plan, index);
  const start = index * plan.chunkSize;
  return bytes.subarray(start, Math.min(plan.total, start + plan.chunkSize));
}

/** Collects chunks in any order into one buffer allocated up front. */
export class ChunkJoiner {
  private readonly buffer: Uint8Array;
  private readonly seen: Uint8Array;
  private received = 0;

  /** `plan` must come from planChunks or parseChunkAnnounce (whose limits bound the allocation). */
  constructor(readonly plan: ChunkPlan) {
    const { total, chunkSize, count } = plan;
    const expected = isCount(total) && isCount(chunkSize) && chunkSize > 0 ? Math.max(1, Math.ceil(total / chunkSize)) : NaN;
    if (count !== expected) {
      throw new ChunkError(`chunk plan does not add up: ${String(total)} bytes in chunks of ${String(chunkSize)} make ${expected} chunks, not ${String(count)}`);
    }
    this.buffer = new Uint8Array(total);
    this.seen = new Uint8Array(count);
  }

  add(index: number, chunk: Uint8Array): void {
    checkIndex(this.plan, index);
    if (!(chunk instanceof Uint8Array)) throw new ChunkError(`chunk ${index} is not bytes`);
    const start = index * this.plan.chunkSize;
    const expected = Math.min(this.plan.total, start + this.plan.chunkSize) - start;
    if (chunk.byteLength !== expected) throw new ChunkError(`chunk ${index} has ${chunk.byteLength} bytes, expected ${expected}`);
    if (this.seen[index]) throw new ChunkError(`chunk ${index} arrived twice`);
    this.seen[index] = 1;
    this.received++;
    this.buffer.set(chunk, start);
  }

  get complete(): boolean {
    return this.received === this.plan.count;
  }

  result(): Uint8Array {
    if (!this.complete) throw new ChunkError(`only ${this.received} of ${this.plan.count} chunks arrived`);
    return this.buffer;
  }
}

/** The announce header's value: `<total>/<chunkSize>/<fetch subject>`. */
export function formatChunkAnnounce(plan: ChunkPlan, fetchSubject: string): string {
  return `${plan.total}/${plan.chunkSize}/${fetchSubject}`;
}

/** Decimal without leading zeros or sign, at most 15 digits (below 2^53). */
const ANNOUNCE = /^(0|[1-9][0-9]{0,14})\/(0|[1-9][0-9]{0,14})\/(.*)$/s;
/** A literal NATS subject: dot-separated tokens of printable ASCII, no wildcards. */
const SUBJECT = /^[\x21-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]+(\.[\x21-\x29\x2b-\x2d\x2f-\x3d\x3f-\x7e]+)*$/;

/** Two sizes of at most 15 digits, two slashes and a subject. */
const MAX_ANNOUNCE_LENGTH = 2 * 15 + 2 + MAX_FETCH_SUBJECT_LENGTH;

export function isFetchSubject(s: string): boolean {
  return s.length <= MAX_FETCH_SUBJECT_LENGTH && SUBJECT.test(s);
}

/**
 * Reads an announce header against the receiver's limits. Throws a
 * ChunkError naming the problem: not `<total>/<chunkSize>/<subject>`, a size
 * of 0 or over `limits.maxTotalBytes`, a chunk size of 0 or larger than the
 * frame, more chunks than `limits.maxChunks`, or a fetch subject that is not
 * a literal NATS subject.
 */
export function parseChunkAnnounce(value: string, limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): { plan: ChunkPlan; fetchSubject: string } {
  checkLimits(limits);
  if (typeof value !== 'string') throw new ChunkError(`chunk announce must be a string, got ${typeof value}`);
  // ASCII only: the message may travel back in a NATS header.
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
  if (value.length > MAX_ANNOUNCE_LENGTH) throw new ChunkError(`chunk announce ${shown} is ${value.length} characters, longer than any valid one (${MAX_ANNOUNCE_LENGTH})`);
  const m = ANNOUNCE.exec(value);
  if (!m) throw new ChunkError(`malformed chunk announce ${shown}: expected <total bytes>/<chunk bytes>/<fetch subject>, sizes in decimal of at most 15 digits`);
  const total = Number(m[1]);
  const chunkSize = Number(m[2]);
  const fetchSubject = m[3];
  if (total === 0) throw new ChunkError(`chunk announce ${shown} announces an empty frame`);
  checkFrameSize(total, limits, `chunk announce ${shown}: `);
  if (chunkSize === 0) throw new ChunkError(`chunk announce ${shown}: chunk size 0`);
  if (chunkSize > total) throw new ChunkError(`chunk announce ${shown}: chunk size ${chunkSize} is larger than the frame (${total} bytes)`);
  const plan = planChunks(total, chunkSize);
  if (plan.count > limits.maxChunks) throw new ChunkError(`chunk announce ${shown}: ${plan.count} chunks is over the limit of ${limits.maxChunks}`);
  if (!isFetchSubject(fetchSubject)) {
    throw new ChunkError(`chunk announce ${shown}: fetch subject is not a literal NATS subject (dot-separated printable ASCII, no wildcards, at most ${MAX_FETCH_SUBJECT_LENGTH} characters)`);
  }
  return { plan, fetchSubject };
}

/**
 * Throws a ChunkError when a frame of `bytes` is over `limits.maxTotalBytes`,
 * naming the limit and where it was set; `context` starts the message.
 */
export function checkFrameSize(bytes: number, limits: ChunkLimits, context = ''): void {
  checkLimits(limits);
  if (bytes <= limits.maxTotalBytes) return;
  const setting = limits.setting ? ` (${limits.setting})` : '';
  throw new ChunkError(`${context}a frame of ${bytes} bytes is over the limit of ${limits.maxTotalBytes} bytes${setting}`);
}

function checkLimits(limits: ChunkLimits): void {
  const ok = (v: unknown): boolean => isCount(v) && v > 0;
  if (!ok(limits?.maxTotalBytes) || !ok(limits?.maxChunks)) {
    throw new RangeError(`chunk limits must be positive integers, got maxTotalBytes ${String(limits?.maxTotalBytes)}, maxChunks ${String(limits?.maxChunks)}`);
  }
}
