/**
 * Which stages have a live worker: discovery over NATS micro services, cached
 * briefly, reduced to the stages a request needs and those that are missing
 * (`["denoise.1"]`). The denoiser chain is taken from what its workers
 * advertise (shard, shard count, block range) and checked against the
 * model's block count (`coverage.ts`); no shard count is configured.
 */
import { STAGE_ROLES, stageLabel, type StageRole, type WorkerInfo } from '@spool/shared';
import { checkCoverage, pipelineDepth, type DenoiserCoverage } from './coverage.ts';

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
  /** Labels of the needed stages with no live worker (or none that can be used). */
  readonly missing: readonly string[];
  /** The denoiser chain: shard count, each shard's block range and live replicas, and what is wrong with it. */
  readonly denoiser: DenoiserCoverage;
  /** Why discovery itself failed, when it did (every stage then counts as missing). */
  readonly error?: string;
}

export interface Topology {
  /**
   * The current picture. `fresh` skips the cache (after a failed call);
   * `maxAgeMs` accepts an older cached one (on a request's hot path).
   */
  snapshot(opts?: { fresh?: boolean; maxAgeMs?: number }): Promise<TopologySnapshot>;
  /** The last picture taken, without discovering (a metrics scrape reads it); undefined before the first. */
  latest?(): TopologySnapshot | undefined;
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

/** Reduces discovered workers to the stages of `model` (with `blockCount` transformer blocks) that are live and missing. */
export function summarize(all: readonly WorkerInfo[], model: string, blockCount: number, error?: string): TopologySnapshot {
  const workers = all.filter((w) => w.model === model);
  const denoiser = checkCoverage(workers.filter((w) => w.role === 'denoiser'), blockCount);
  const expected = expectedStages(denoiser.shardCount);
  const live = new Set(workers.map((w) => stageLabel(w.role, w.shard)));
  const missing = error
    ? expected.map((s) => s.label)
    : expected.filter((s) => (s.role === 'denoiser' ? denoiser.missing.includes(s.label) : !live.has(s.label))).map((s) => s.label);
  return { workers, expected, missing, denoiser, ...(error ? { error } : {}) };
}

/** How many denoiser calls to keep in flight for a snapshot: shards × the fewest live replicas of a shard, at least 1. */
export function snapshotDepth(snap: TopologySnapshot | undefined): number {
  return snap ? pipelineDepth(snap.denoiser) : 1;
}

export interface TopologyOptions {
  readonly discover: () => Promise<WorkerInfo[]>;
  readonly model: string;
  /** Transformer blocks of the model, from its manifest: the denoiser shards must cover them all. */
  readonly blockCount: number;
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

  /** The last picture taken, without discovering again; undefined before the first. */
  latest(): TopologySnapshot | undefined {
    return this.cached?.snap;
  }

  private async refresh(): Promise<TopologySnapshot> {
    const { model, blockCount } = this.opts;
    let snap: TopologySnapshot;
    try {
      snap = summarize(await this.opts.discover(), model, blockCount);
    } catch (err) {
      snap = summarize([], model, blockCount, `worker discovery failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.cached = { at: this.now(), snap };
    return snap;
  }
}

/**
 * What is missing or wrong, in one line: the stages without a live worker,
 * then the denoiser chain's problems (`blocks 3:6 have no live worker (denoise.1)`).
 */
export function describeMissing(snap: TopologySnapshot): string {
  if (snap.error) return snap.error;
  const stages = snap.missing.filter((label) => !label.startsWith('denoise.'));
  const parts: string[] = [];
  if (stages.length > 0) parts.push(`${stages.join(', ')} ${stages.length === 1 ? 'has' : 'have'} no live worker`);
  parts.push(...snap.denoiser.problems);
  return parts.length === 0 ? 'every stage has a live worker' : parts.join('; ');
}
