import { describe, expect, it } from 'vitest';
import { RateBuckets } from '../src/admission/rate-limit.ts';

describe('RateBuckets', () => {
  it('allows a burst, then one request per 60/perMinute s', () => {
    const b = new RateBuckets({ perMinute: 6, burst: 3 });
    for (let i = 0; i < 3; i++) expect(b.take('token-0', 0)).toBe(true);
    expect(b.take('token-0', 0)).toBe(false);
    expect(b.waitMs('token-0', 0)).toBe(10_000);
    expect(b.waitMs('token-0', 4_000)).toBe(6_000);
    expect(b.take('token-0', 9_999)).toBe(false);
    expect(b.take('token-0', 10_000)).toBe(true);
    expect(b.waitMs('token-0', 10_000)).toBe(10_000);
  });

  it('keeps each caller apart', () => {
    const b = new RateBuckets({ perMinute: 60, burst: 1 });
    expect(b.take('token-0', 0)).toBe(true);
    expect(b.take('token-0', 0)).toBe(false);
    expect(b.take('token-1', 0)).toBe(true);
  });

  it('refills no higher than the burst, and forgets full buckets', () => {
    const b = new RateBuckets({ perMinute: 60, burst: 2 });
    b.take('token-0', 0);
    b.take('token-0', 0);
    expect(b.size).toBe(1);
    expect(b.tokens('token-0', 500)).toBeCloseTo(0.5);
    expect(b.tokens('token-0', 3_600_000)).toBe(2);
    b.take('token-1', 3_600_000);
    expect(b.size).toBe(1); // token-0 was full again and dropped
    expect(b.take('token-0', 3_600_000)).toBe(true);
    expect(b.take('token-0', 3_600_000)).toBe(true);
    expect(b.take('token-0', 3_600_000)).toBe(false);
  });

  it('with perMinute 0 never refuses', () => {
    const b = new RateBuckets({ perMinute: 0, burst: 1 });
    for (let i = 0; i < 100; i++) expect(b.take('token-0', 0)).toBe(true);
    expect(b.waitMs('token-0', 0)).toBe(0);
    expect(b.size).toBe(0);
  });
});
