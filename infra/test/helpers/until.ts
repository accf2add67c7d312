/** Polling a running system until something holds, bounded in time; the failure names what was waited for. */

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Polls `fn` every 100 ms until it gives a value (a throw counts as not yet: a stack restarting refuses connections). */
export function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  return poll(what, () => fn().catch(() => undefined), timeoutMs, 100);
}

/** Polls `check` every 10 ms until it holds; a throw fails at once. */
export async function untilHolds(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await poll(what, async () => ((await check()) ? true : undefined), timeoutMs, 10);
}
