import { describe, expect, it } from 'vitest';
import { describeMissing, DiscoveredTopology, expectedStages } from '../src/topology.ts';
import { ALL_WORKERS, manifest, worker } from './helpers.ts';

/** A topology over a discovery that always finds every worker, counting its calls. */
function countingTopology(opts: { cacheMs?: number; now?: () => number }): { t: DiscoveredTopology; counter: { calls: number } } {
  const counter = { calls: 0 };
  const t = new DiscoveredTopology({
    discover: async () => {
      counter.calls++;
      return ALL_WORKERS;
    },
    model: manifest.name,
    shards: 2,
    ...opts,
  });
  return { t, counter };
}

describe('topology', () => {
  it('expects every role and every shard', () => {
    expect(expectedStages(3).map((s) => s.label)).toEqual(['text-encoder', 'denoise.0', 'denoise.1', 'denoise.2', 'vae-decoder', 'video-encoder']);
  });

  it('caches discovery for cacheMs and shares a running discovery', async () => {
    let now = 0;
    const { t, counter } = countingTopology({ cacheMs: 1000, now: () => now });
    const [a, b] = await Promise.all([t.snapshot(), t.snapshot()]);
    expect(a).toBe(b);
    expect(counter.calls).toBe(1);
    now = 500;
    await t.snapshot();
    expect(counter.calls).toBe(1);
    now = 1500;
    await t.snapshot();
    expect(counter.calls).toBe(2);
    await t.snapshot({ fresh: true });
    expect(counter.calls).toBe(3);
    expect(a.missing).toEqual([]);
    // A request's hot path may accept an older picture.
    now = 4000;
    await t.snapshot({ maxAgeMs: 5000 });
    expect(counter.calls).toBe(3);
    await t.snapshot();
    expect(counter.calls).toBe(4);
  });

  it('keeps the picture fresh in the background once watched', async () => {
    const { t, counter } = countingTopology({});
    const stop = t.watch(20);
    const until = Date.now() + 5000;
    while (counter.calls < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    stop();
    const seen = counter.calls;
    expect(seen).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 60));
    expect(counter.calls).toBe(seen);
  });

  it('names what is missing, and a discovery failure', async () => {
    const t = new DiscoveredTopology({ discover: async () => [worker('denoiser', 0)], model: manifest.name, shards: 2 });
    const snap = await t.snapshot();
    expect(describeMissing(snap)).toBe('text-encoder, denoise.1, vae-decoder, video-encoder have no live worker');
    const broken = new DiscoveredTopology({
      discover: async () => {
        throw new Error('NATS is closed');
      },
      model: manifest.name,
      shards: 1,
    });
    const s2 = await broken.snapshot();
    expect(s2.missing).toHaveLength(4);
    expect(describeMissing(s2)).toBe('worker discovery failed: NATS is closed');
  });
});
