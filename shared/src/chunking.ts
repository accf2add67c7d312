/**
 * Splitting a frame larger than the server's max payload into chunks and
 * joining them again. Pure: the NATS binding moves the chunks.
 */

export interface ChunkPlan {
  readonly total: number;
  readonly chunkSize: number;
  readonly count: number;
}

export function planChunks(total: number, chunkSize: number): ChunkPlan {
  if (!(chunkSize > 0)) throw new RangeError(`chunk size must be positive, got ${chunkSize}`);
  return { total, chunkSize, count: Math.max(1, Math.ceil(total / chunkSize)) };
}

export function chunkAt(bytes: Uint8Array, plan: ChunkPlan, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= plan.count) {
    throw new RangeError(`chunk ${index} is outside 0..${plan.count - 1}`);
  }
  const start = index * plan.chunkSize;
  return bytes.subarray(start, Math.min(plan.total, start + plan.chunkSize));
}

/** Collects chunks in any order into one buffer allocated up front. */
export class ChunkJoiner {
  private readonly buffer: Uint8Array;
  private readonly seen: boolean[];
  private received = 0;

  constructor(readonly plan: ChunkPlan) {
    this.buffer = new Uint8Array(plan.total);
    this.seen = new Array<boolean>(plan.count).fill(false);
  }

  add(index: number, chunk: Uint8Array): void {
    const start = index * this.plan.chunkSize;
    const expected = Math.min(this.plan.total, start + this.plan.chunkSize) - start;
    if (index < 0 || index >= this.plan.count) throw new RangeError(`chunk ${index} is outside 0..${this.plan.count - 1}`);
    if (chunk.byteLength !== expected) throw new RangeError(`chunk ${index} has ${chunk.byteLength} bytes, expected ${expected}`);
    if (!this.seen[index]) {
      this.seen[index] = true;
      this.received++;
    }
    this.buffer.set(chunk, start);
  }

  get complete(): boolean {
    return this.received === this.plan.count;
  }

  result(): Uint8Array {
    if (!this.complete) throw new Error(`only ${this.received} of ${this.plan.count} chunks arrived`);
    return this.buffer;
  }
}

/** The announce header's value: `<total>/<chunkSize>/<fetch subject>`. */
export function formatChunkAnnounce(plan: ChunkPlan, fetchSubject: string): string {
  return `${plan.total}/${plan.chunkSize}/${fetchSubject}`;
}

export function parseChunkAnnounce(value: string): { plan: ChunkPlan; fetchSubject: string } {
  const m = /^(\d+)\/(\d+)\/(\S+)$/.exec(value);
  if (!m) throw new RangeError(`malformed chunk announce "${value}"`);
  return { plan: planChunks(Number(m[1]), Number(m[2])), fetchSubject: m[3] };
}
