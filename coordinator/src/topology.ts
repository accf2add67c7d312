/**
 * Which stages have a live worker: discovery over NATS micro services, cached
 * briefly, reduced to the (role, shard) pairs a request needs and those that
 * are missing (`["denoise.1"]`).
 */
import { STAGE_ROLES, stageLabel, type StageRole, type WorkerInfo } from '@spool/shared';

export interface ExpectedStage {
  readonly role: StageRole;
  readonly shard?: number;
  /** `text-encoder`, `denoise.0`, … */
  readonly label: string;
}

export interface TopologySnapshot {
  /** Live workers of this model. */
  readonly workers: readonly WorkerInfo[];
  /** Every stage the deployment needs, in request order. */
  readonly expected: readonly ExpectedStage[];
  /** Labels of the needed stages with no live worker. */
  readonly missing: readonly string[];
  /** Why discovery itself failed, when it did (every stage then counts as missing). */
  readonly error?: string;
}

export interface Topology {
  /**
   * The current picture. `fresh` skips the cache (after a failed call);
   * `maxAgeMs` accepts an older cached one (on a request's hot path).
   */
  snapshot(opts?: { fresh?: boolean; maxAgeMs?: number }): Promise<TopologySnapshot>;
}

export function expectedStages(shards: number): ExpectedStage[] {
  const out: ExpectedStage[] = [];
  for (const role of STAGE_ROLES) {
    if (role === 'denoiser') {
      for (let shard = 0; shard < shards; shard++) out.push({ role, shard, label: stageLabel(role, shard) });
    } else {
      out.push({ role, label: stageLabel(role) });
    }
  }
  return out;
}

/** Reduces discovered workers to the stages of `model` that are live and missing. */
export function summarize(all: readonly WorkerInfo[], model: string, shards: number, error?: string): TopologySnapshot {
  const workers = all.filter((w) => w.model === model);
  const expected = expectedStages(shards);
  const live = new Set(workers.map((w) => stageLabel(w.role, w.shard)));
  const missing = error ? expected.map((s) => s.label) : expected.filter((s) => !live.has(s.label)).map((s) => s.label);
  return { workers, expected, missing, ...(error ? { error } : {}) };
}

export interface TopologyOptions {
  readonly discover: () => Promise<WorkerInfo[]>;
  readonly model: string;
  readonly shards: number;
  /** How long a snapshot is reused. */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

export class DiscoveredTopology implements Topology {
  private cached?: { at: number; snap: TopologySnapshot };
  private pending?: Promise<TopologySnapshot>;
  private readonly now: () => number;

  constructor(private readonly opts: TopologyOptions) {
    this.now = opts.now ?? (() => performance.now());
  }

  snapshot(opts: { fresh?: boolean; maxAgeMs?: number } = {}): Promise<TopologySnapshot> {
    const maxAgeMs = opts.maxAgeMs ?? this.opts.cacheMs ?? 1000;
    if (!opts.fresh && this.cached && this.now() - this.cached.at < maxAgeMs) return Promise.resolve(this.cached.snap);
    // Callers arriving while discovery runs share it.
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /**
   * Refreshes the picture every `intervalMs` in the background, so requests
   * rarely wait for discovery (which takes a few hundred ms). Returns a stop function.
   */
  watch(intervalMs: number): () => void {
    const timer = setInterval(() => void this.snapshot({ fresh: true }), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async refresh(): Promise<TopologySnapshot> {
    const { model, shards } = this.opts;
    let snap: TopologySnapshot;
    try {
      snap = summarize(await this.opts.discover(), model, shards);
    } catch (err) {
      snap = summarize([], model, shards, `worker discovery failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.cached = { at: this.now(), snap };
    return snap;
  }
}

/** One sentence naming the stages without a live worker. */
export function describeMissing(snap: TopologySnapshot): string {
  if (snap.error) return snap.error;
  if (snap.missing.length === 0) return 'every stage has a live worker';
  const list = snap.missing.join(', ');
  return snap.missing.length === 1 ? `${list} has no live worker` : `${list} have no live worker`;
}
