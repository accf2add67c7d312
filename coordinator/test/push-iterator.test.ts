import { describe, expect, it } from 'vitest';
import { pushIterator } from '../src/lifecycle/push-iterator.ts';

/** A source the test pushes to by hand; `subscribed` says whether a listener is attached. */
function source() {
  let listener: ((n: number | undefined) => void) | undefined;
  return {
    subscribe: (l: (n: number | undefined) => void) => {
      listener = l;
      return () => (listener = undefined);
    },
    push: (n: number | undefined) => listener?.(n),
    get subscribed() {
      return listener !== undefined;
    },
  };
}

const read = async (it: AsyncIterable<number>): Promise<number[]> => {
  const out: number[] = [];
  for await (const n of it) out.push(n);
  return out;
};

describe('pushIterator', () => {
  it('delivers what was buffered and what comes later, in order, through the last item, then unsubscribes', async () => {
    const src = source();
    const it = pushIterator(src.subscribe, (n) => n === 99, undefined);
    src.push(1);
    src.push(2);
    const all = read(it);
    src.push(3);
    src.push(99);
    src.push(4);
    expect(await all).toEqual([1, 2, 3, 99]);
    expect(src.subscribed).toBe(false);
  });

  it('ends after the buffer when the source says it is over', async () => {
    const src = source();
    const it = pushIterator(src.subscribe, () => false);
    src.push(1);
    src.push(undefined);
    expect(await read(it)).toEqual([1]);
    expect(src.subscribed).toBe(false);
  });

  it('takes items a source gives while subscribing, including its end', async () => {
    const it = pushIterator<number>((l) => {
      l(7);
      l(99);
      return () => undefined;
    }, (n) => n === 99);
    expect(await read(it)).toEqual([7, 99]);
  });

  it('ends at once, dropping the buffer, when the signal aborts or the reader returns', async () => {
    const src = source();
    const ac = new AbortController();
    const it = pushIterator(src.subscribe, () => false, ac.signal);
    const pending = it.next();
    ac.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(src.subscribed).toBe(false);

    const src2 = source();
    const it2 = pushIterator(src2.subscribe, () => false);
    src2.push(1);
    await it2.return!();
    expect(await it2.next()).toEqual({ value: undefined, done: true });
    expect(src2.subscribed).toBe(false);
  });
});
