/**
 * Property-based: parseChunkAnnounce is total over any string and any
 * limits (a plan within the limits, or a ChunkError), and ChunkJoiner takes
 * hostile indices and chunk sizes with a ChunkError, never a hole.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkError, ChunkJoiner, chunkAt, formatChunkAnnounce, isFetchSubject, parseChunkAnnounce, planChunks, type ChunkLimits } from '../src/index.ts';

const limits: fc.Arbitrary<ChunkLimits> = fc.record({
  maxTotalBytes: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 2 ** 40 })),
  maxChunks: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 2 ** 20 })),
});

const size = fc.oneof(
  fc.nat({ max: 5000 }).map(String),
  fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String),
  fc.constantFrom('0', '00', '01', '-1', '1.5', '1e3', '0x10', '', ' 1', '1 ', 'NaN', 'Infinity', '9007199254740993', '999999999999999'),
);

const subject = fc.oneof(
  fc.constantFrom('_INBOX.abc', '_INBOX.a.b.c', 'spool.x.fetch', '_INBOX.>', '_INBOX.*', 'a..b', '.a', 'a.', '', ' ', 'a b', 'ä.b', 'a\tb', 'a/b.c-d'),
  fc.stringMatching(/^[A-Za-z0-9_]{1,8}(\.[A-Za-z0-9_]{1,8}){0,3}$/),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer({ min: 200, max: 400 }).map((n) => `_INBOX.${'a'.repeat(n)}`),
);

const validSubject = fc.stringMatching(/^_INBOX(\.[A-Za-z0-9_-]{1,12}){1,3}$/);

const announce = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), validSubject).map(([a, b, s]) => `${Math.max(a, b)}/${Math.min(a, b)}/${s}`),
  fc.tuple(size, size, subject).map(([t, c, s]) => `${t}/${c}/${s}`),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.tuple(size, size).map(([t, c]) => `${t}/${c}`),
);

describe('parseChunkAnnounce (property-based)', () => {
  it('returns a plan within the limits, or throws a ChunkError', () => {
    let accepted = 0;
    fc.assert(
      fc.property(announce, limits, (value, l) => {
        let parsed: ReturnType<typeof parseChunkAnnounce>;
        try {
          parsed = parseChunkAnnounce(value, l);
        } catch (err) {
          if (!(err instanceof ChunkError)) throw err;
          return;
        }
        const { plan, fetchSubject } = parsed;
        expect(plan.total).toBeGreaterThanOrEqual(1);
        expect(plan.total).toBeLessThanOrEqual(l.maxTotalBytes);
        expect(plan.chunkSize).toBeGreaterThanOrEqual(1);
        expect(plan.chunkSize).toBeLessThanOrEqual(plan.total);
        expect(plan.count).toBe(Math.ceil(plan.total / plan.chunkSize));
        expect(plan.count).toBeLessThanOrEqual(l.maxChunks);
        expect(isFetchSubject(fetchSubject)).toBe(true);
        expect(formatChunkAnnounce(plan, fetchSubject)).toBe(value);
        accepted++;
      }),
      { numRuns: 3_000 },
    );
    // Not every announce is refused: the accepting path is exercised too.
    expect(accepted).toBeGreaterThan(100);
  });

  it('reads back every announce the sender can write', () => {
    const plan = fc.tuple(fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 1, max: 2 ** 30 })).map(([a, b]) => planChunks(Math.max(a, b), Math.min(a, b)));
    fc.assert(
      fc.property(plan, fc.stringMatching(/^_INBOX\.[A-Za-z0-9]{22}$/), (p, s) => {
        expect(parseChunkAnnounce(formatChunkAnnounce(p, s), { maxTotalBytes: 2 ** 30, maxChunks: 2 ** 30 })).toEqual({ plan: p, fetchSubject: s });
      }),
      { numRuns: 500 },
    );
  });
});

type Op = { kind: 'right'; index: number } | { kind: 'wrong-size'; index: number; delta: number } | { kind: 'bad-index'; index: number };

describe('ChunkJoiner (property-based)', () => {
  it('hostile indices and sizes throw a ChunkError; a complete frame is exactly the bytes sent', () => {
    const setup = fc
      .tuple(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 200 }))
      .chain(([total, chunk]) => {
        const plan = planChunks(total, Math.min(total, chunk));
        const op: fc.Arbitrary<Op> = fc.oneof(
          fc.nat({ max: plan.count - 1 }).map((index) => ({ kind: 'right' as const, index })),
          fc.tuple(fc.nat({ max: plan.count - 1 }), fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0)).map(([index, delta]) => ({ kind: 'wrong-size' as const, index, delta })),
          fc.constantFrom(-1, 0.5, plan.count, plan.count + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53).map((index) => ({ kind: 'bad-index' as const, index })),
        );
        return fc.tuple(fc.constant(plan), fc.uint8Array({ minLength: total, maxLength: total }), fc.array(op, { maxLength: 3 * plan.count + 3 }));
      });
    fc.assert(
      fc.property(setup, ([plan, bytes, ops]) => {
        const joiner = new ChunkJoiner(plan);
        const added = new Set<number>();
        for (const op of ops) {
          const chunk = chunkAt(bytes, plan, Number.isInteger(op.index) && op.index >= 0 && op.index < plan.count ? op.index : 0);
          const body = op.kind === 'wrong-size' ? new Uint8Array(Math.max(0, chunk.byteLength + op.delta)) : chunk;
          const ok = op.kind === 'right' && !added.has(op.index);
          if (ok) {
            joiner.add(op.index, body);
            added.add(op.index);
          } else if (op.kind !== 'wrong-size' || body.byteLength !== chunk.byteLength) {
            expect(() => joiner.add(op.index, body)).toThrow(ChunkError);
          }
        }
        expect(joiner.complete).toBe(added.size === plan.count);
        if (joiner.complete) expect(joiner.result()).toEqual(bytes);
        else expect(() => joiner.result()).toThrow(ChunkError);
      }),
      { numRuns: 1_000 },
    );
  });
});
