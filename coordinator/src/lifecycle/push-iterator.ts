/**
 * Events pushed to a listener, pulled through an async iterator: what was
 * pushed before the reader asked is buffered and delivered in order. The
 * iterator ends after the last item (`isLast`) or when the source says it is
 * over (`undefined`), once what is buffered has been read; it ends at once,
 * dropping the buffer, when `signal` aborts or the reader returns early. The
 * listener is unsubscribed when it ends, either way.
 */
export function pushIterator<T>(
  subscribe: (listener: (item: T | undefined) => void) => () => void,
  isLast: (item: T) => boolean,
  signal?: AbortSignal,
): AsyncIterableIterator<T> {
  const buffered: T[] = [];
  let waiting: ((r: IteratorResult<T>) => void) | undefined;
  /** No more items will be taken; what is buffered is still read. */
  let over = false;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    over = true;
    buffered.length = 0;
    unsubscribe?.();
    signal?.removeEventListener('abort', finish);
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };
  let unsubscribe: (() => void) | undefined;
  unsubscribe = subscribe((item) => {
    if (over) return;
    if (item !== undefined) {
      if (waiting) {
        waiting({ value: item, done: false });
        waiting = undefined;
      } else buffered.push(item);
    }
    if (item === undefined || isLast(item)) {
      over = true;
      if (buffered.length === 0) finish();
    }
  });
  // A source that was already over called back during subscribe, before `unsubscribe` was set.
  if (finished) unsubscribe();
  if (signal?.aborted) finish();
  else if (!finished) signal?.addEventListener('abort', finish, { once: true });
  const iterator: AsyncIterableIterator<T> = {
    next: () => {
      if (buffered.length > 0) {
        const item = buffered.shift()!;
        if (over && buffered.length === 0) finish();
        return Promise.resolve({ value: item, done: false });
      }
      if (over) {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve) => (waiting = resolve));
    },
    return: () => {
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
