import { describe, expect, it } from 'vitest';
import {
  checkFetchSubject,
  ChunkError,
  ChunkJoiner,
  chunkAt,
  DEFAULT_CHUNK_LIMITS,
  formatChunkAnnounce,
  FrameError,
  isChunkSubject,
  parseChunkAnnounce,
  planChunks,
} from '../src/index.ts';

describe('chunking', () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

  it('splits into ceil(total/size) chunks and joins them in any order', () => {
    const plan = planChunks(bytes.byteLength, 300);
    expect(plan.count).toBe(4);
    const joiner = new ChunkJoiner(plan);
    for (const i of [3, 1, 0, 2]) joiner.add(i, chunkAt(bytes, plan, i));
    expect(joiner.complete).toBe(true);
    expect(joiner.result()).toEqual(bytes);
  });

  it('reports missing chunks and rejects wrong sizes', () => {
    const plan = planChunks(bytes.byteLength, 300);
    const joiner = new ChunkJoiner(plan);
    joiner.add(0, chunkAt(bytes, plan, 0));
    expect(() => joiner.result()).toThrow(/1 of 4/);
    expect(() => joiner.add(3, new Uint8Array(300))).toThrow(/expected 100/);
    expect(() => chunkAt(bytes, plan, 4)).toThrow(/outside/);
  });

  it('formats and parses the announce header', () => {
    const plan = planChunks(12345, 1000);
    const parsed = parseChunkAnnounce(formatChunkAnnounce(plan, '_INBOX.abc.def'), DEFAULT_CHUNK_LIMITS);
    expect(parsed.fetchSubject).toBe('_INBOX.abc.def');
    expect(parsed.plan).toEqual(plan);
    expect(() => parseChunkAnnounce('garbage')).toThrow(/malformed/);
  });
});

describe('chunking under hostile input', () => {
  const limits = { maxTotalBytes: 1 << 20, maxChunks: 64 };
  const refuse = (value: string, message: RegExp) => {
    let caught: unknown;
    try {
      parseChunkAnnounce(value, limits);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ChunkError);
    // A FrameError too, so the NATS binding reports it as a bad message.
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as Error).message).toMatch(message);
  };

  it.each([
    ['a size past 15 digits (once allocated as announced)', '99999999999999999999/1/_INBOX.a', /malformed chunk announce.*at most 15 digits/],
    ['a frame over the size limit', `${(1 << 20) + 1}/65536/_INBOX.a`, /a frame of 1048577 bytes is over the limit of 1048576/],
    ['an empty frame', '0/1/_INBOX.a', /announces an empty frame/],
    ['chunk size 0', '100/0/_INBOX.a', /chunk size 0/],
    ['a chunk larger than the frame', '100/101/_INBOX.a', /chunk size 101 is larger than the frame \(100 bytes\)/],
    ['more chunks than the limit', '1000/10/_INBOX.a', /100 chunks is over the limit of 64/],
    ['a wildcard fetch subject', '100/10/_INBOX.>', /not a literal NATS subject/],
    ['an empty subject token', '100/10/_INBOX..a', /not a literal NATS subject/],
    ['a subject with a space', '100/10/_INBOX. a', /not a literal NATS subject/],
    ['no subject', '100/10/', /not a literal NATS subject/],
    ['leading zeros', '0100/10/_INBOX.a', /malformed/],
    ['a sign', '+100/10/_INBOX.a', /malformed/],
    ['a very long value', `100/10/${'a'.repeat(10_000)}`, /10007 characters, longer than any valid one/],
  ])('%s: ChunkError', (_name, value, message) => refuse(value, message));

  it('takes the limits it is given and checks them', () => {
    expect(parseChunkAnnounce('1000/10/_INBOX.a', { maxTotalBytes: 1000, maxChunks: 100 }).plan).toEqual({ total: 1000, chunkSize: 10, count: 100 });
    expect(() => parseChunkAnnounce('1000/10/_INBOX.a', { maxTotalBytes: 0, maxChunks: 100 })).toThrow(/chunk limits must be positive integers/);
  });

  it('refuses chunk indices that are not whole, a chunk twice, and a plan that does not add up', () => {
    const joiner = new ChunkJoiner(planChunks(4, 2));
    joiner.add(0, Uint8Array.of(1, 1));
    // Once, 0.5 counted as a chunk and left a hole in a "complete" frame.
    expect(() => joiner.add(0.5, Uint8Array.of(2, 2))).toThrow(/chunk 0.5 is outside 0..1/);
    expect(() => joiner.add(Number.NaN, Uint8Array.of(2, 2))).toThrow(ChunkError);
    expect(() => joiner.add(0, Uint8Array.of(1, 1))).toThrow(/chunk 0 arrived twice/);
    expect(joiner.complete).toBe(false);
    expect(() => new ChunkJoiner({ total: 10, chunkSize: 5, count: 1 })).toThrow(/10 bytes in chunks of 5 make 2 chunks, not 1/);
    expect(() => chunkAt(new Uint8Array(4), planChunks(4, 2), Number('x'))).toThrow(ChunkError);
  });
});

describe('fetch subjects', () => {
  const coordinator = '_spool.in.m.coordinator';

  it('are <inbox prefix>.chunks.<id>: of one sender when it is known, of any sender when not', () => {
    expect(isChunkSubject(`${coordinator}.chunks.abc`, coordinator)).toBe(true);
    expect(isChunkSubject(`${coordinator}.chunks.abc`)).toBe(true);
    expect(isChunkSubject('_INBOX.chunks.abc')).toBe(true);
    expect(isChunkSubject('_spool.in.m.launcher.chunks.abc', coordinator)).toBe(false);
    expect(isChunkSubject(`${coordinator}.chunks.a.b`, coordinator)).toBe(false);
    expect(isChunkSubject(`${coordinator}.calls.abc`)).toBe(false);
    expect(isChunkSubject('spool.m.video-encoder')).toBe(false);
    expect(isChunkSubject('chunks.abc')).toBe(false);
    expect(isChunkSubject(`${coordinator}.chunks.`)).toBe(false);
    expect(isChunkSubject('')).toBe(false);
  });

  it('refuse any other subject as a bad message naming the subject, the sender and what was expected', () => {
    expect(() => checkFetchSubject(`${coordinator}.chunks.abc`, 'the coordinator', coordinator)).not.toThrow();
    let caught: unknown;
    try {
      checkFetchSubject('spool.m.video-encoder', 'vae-decoder', '_spool.in.m.vae-decoder');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ChunkError);
    expect((caught as Error).message).toBe(
      'the chunk announce from vae-decoder names fetch subject "spool.m.video-encoder"; its chunks are pulled only from _spool.in.m.vae-decoder.chunks.<id>',
    );
    expect(() => checkFetchSubject('$SRV.PING', 'text-encoder')).toThrow(/names fetch subject "\$SRV\.PING"; its chunks are pulled only from <inbox prefix>\.chunks\.<id>/);
  });
});
