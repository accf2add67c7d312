import { describe, expect, it } from 'vitest';
import { describeMissing, DiscoveredTopology, expectedStages } from '../src/topology.ts';
import { ALL_WORKERS, manifest, worker } from './helpers.ts';

describe('topology', () => {
  it('expects every role and every shard', () => {
    expect(expectedStages(3).map((s) => s.label)).toEqual(['text-encoder', 'denoise.0', 'denoise.1', 'denoise.2', 'vae-decoder', 'video-encoder']);
  });

  it('caches discovery for cacheMs and shares a running discovery', async () => {
    let calls = 0;
    let now = 0;
    const t = new DiscoveredTopology({
      discover: async () => {
        calls++;
        return ALL_WORKERS;
      },
      model: manifest.name,
      shards: 2,
      cacheMs: 1000,
      now: () => now,
    });
    const [a, b] = await Promise.all([t.snapshot(), t.snapshot()]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    now = 500;
    await t.snapshot();
    expect(calls).toBe(1);
    now = 1500;
    await t.snapshot();
    expect(calls).toBe(2);
    await t.snapshot({ fresh: true });
    expect(calls).toBe(3);
    expect(a.missing).toEqual([]);
    // A request's hot path may accept an older picture.
    now = 4000;
    await t.snapshot({ maxAgeMs: 5000 });
    expect(calls).toBe(3);
    await t.snapshot();
    expect(calls).toBe(4);
  });

  it('keeps the picture fresh in the background once watched', async () => {
    let calls = 0;
    const t = new DiscoveredTopology({
      discover: async () => {
        calls++;
        return ALL_WORKERS;
      },
      model: manifest.name,
      shards: 2,
    });
    const stop = t.watch(20);
    const until = Date.now() + 5000;
    while (calls < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    stop();
    const seen = calls;
    expect(seen).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(seen);
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
