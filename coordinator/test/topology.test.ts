import { describe, expect, it } from 'vitest';
import { describeMissing, DiscoveredTopology, expectedStages, snapshotDepth } from '../src/topology.ts';
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
    blockCount: 2,
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
    const t = new DiscoveredTopology({ discover: async () => [worker('denoiser', 0)], model: manifest.name, blockCount: 2 });
    const snap = await t.snapshot();
    expect(snap.missing).toEqual(['text-encoder', 'denoise.1', 'vae-decoder', 'video-encoder']);
    expect(describeMissing(snap)).toBe('text-encoder, vae-decoder, video-encoder have no live worker; blocks 1:2 have no live worker (denoise.1)');
    const broken = new DiscoveredTopology({
      discover: async () => {
        throw new Error('NATS is closed');
      },
      model: manifest.name,
      blockCount: 2,
    });
    const s2 = await broken.snapshot();
    expect(s2.missing).toEqual(['text-encoder', 'denoise.0', 'vae-decoder', 'video-encoder']);
    expect(describeMissing(s2)).toBe('worker discovery failed: NATS is closed');
  });
});

describe('topology snapshots of the denoiser chain', () => {
  const replica = (shard: number, n: number) => ({ ...worker('denoiser', shard), id: `id-denoise-${shard}-r${n}` });

  it('lists the shards with their ranges and live replicas, and keeps the latest picture', async () => {
    const t = new DiscoveredTopology({
      discover: async () => [worker('text-encoder'), replica(0, 0), replica(0, 1), replica(1, 0), worker('vae-decoder'), worker('video-encoder')],
      model: manifest.name,
      blockCount: 2,
    });
    expect(t.latest()).toBeUndefined();
    const snap = await t.snapshot();
    expect(t.latest()).toBe(snap);
    expect(snap.missing).toEqual([]);
    expect(snap.expected.map((s) => s.label)).toEqual(['text-encoder', 'denoise.0', 'denoise.1', 'vae-decoder', 'video-encoder']);
    expect(snap.denoiser.shardCount).toBe(2);
    expect(snap.denoiser.shards).toEqual([
      { shard: 0, label: 'denoise.0', blocks: { start: 0, end: 1 }, replicas: 2 },
      { shard: 1, label: 'denoise.1', blocks: { start: 1, end: 2 }, replicas: 1 },
    ]);
    // Two shards, the fewer-replica shard has one: two calls keep every worker busy.
    expect(snapshotDepth(snap)).toBe(2);
    expect(snapshotDepth(undefined)).toBe(1);
  });
});
