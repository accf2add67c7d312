import { wireError } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { isRetriable, withRetry, type RetryPolicy } from '../src/pipeline/retry.ts';

const policy: RetryPolicy = { attempts: 4, budgetMs: 1_000, backoffMs: { first: 100, cap: 300 } };

/** A clock that only moves when the retry sleeps. */
function fakeTime() {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    advance: (ms: number) => (t += ms),
  };
}

const lost = () => wireError('SPOOL_ERR_CALL_LOST', 'denoise.0 stopped answering', { stage: 'denoise.0' });

describe('withRetry', () => {
  it('sends a lost call again with a growing pause until it goes through', async () => {
    const time = fakeTime();
    const tries: number[] = [];
    const result = await withRetry(
      async (n) => {
        tries.push(n);
        if (n < 3) throw lost();
        return 'done';
      },
      policy,
      undefined,
      time,
    );
    expect(result).toBe('done');
    expect(tries).toEqual([1, 2, 3]);
    expect(time.slept).toEqual([100, 200]);
  });

  it('gives up after the last attempt with the last failure', async () => {
    const time = fakeTime();
    let n = 0;
    const err = await withRetry(
      async () => {
        n++;
        throw wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `no live worker (${n})`);
      },
      { ...policy, budgetMs: 60_000 },
      undefined,
      time,
    ).catch((e: unknown) => e);
    expect(n).toBe(4);
    expect((err as Error).message).toBe('no live worker (4)');
    expect(time.slept).toEqual([100, 200, 300]);
  });

  it('starts no retry past the budget counted from the first failure', async () => {
    const time = fakeTime();
    let n = 0;
    await withRetry(
      async () => {
        n++;
        time.advance(400); // each try takes 400 ms to be known lost
        throw lost();
      },
      policy,
      undefined,
      time,
    ).catch(() => undefined);
    // failure 1 at 400 ms; retries pause 100, 200 and must start by 1 400 ms
    expect(n).toBe(3);
  });

  it('does not send again what would fail the same way, nor what the caller cancelled', async () => {
    const time = fakeTime();
    let n = 0;
    await withRetry(
      async () => {
        n++;
        throw wireError('SPOOL_ERR_MODEL', 'onnxruntime failed');
      },
      policy,
      undefined,
      time,
    ).catch(() => undefined);
    expect(n).toBe(1);
    const ac = new AbortController();
    ac.abort();
    n = 0;
    await withRetry(
      async () => {
        n++;
        throw lost();
      },
      policy,
      ac.signal,
      time,
    ).catch(() => undefined);
    expect(n).toBe(1);
  });

  it('knows which failures a retry can mend', () => {
    expect(isRetriable(lost())).toBe(true);
    expect(isRetriable(wireError('SPOOL_ERR_DRAINING', 'x'))).toBe(true);
    expect(isRetriable(wireError('SPOOL_ERR_BUS_UNAVAILABLE', 'x'))).toBe(true);
    expect(isRetriable(wireError('SPOOL_ERR_STAGE_TIMEOUT', 'x'))).toBe(false);
    expect(isRetriable(wireError('SPOOL_ERR_BAD_MESSAGE', 'x'))).toBe(false);
    expect(isRetriable(new Error('plain'))).toBe(false);
  });
});
