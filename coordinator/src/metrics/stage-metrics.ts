/**
 * Stage metrics: the coordinator's calls to the stages and the workers it
 * can see.
 *
 * - Each try of a stage call (the NATS pipeline tells them): its time, by
 *   the stage it enters at (`text-encoder`, `denoise.0`, `vae-decoder`; a
 *   denoiser call runs the whole shard chain and a VAE call goes on to the
 *   video encoder before the answer comes back) and outcome (`ok` or the
 *   SPOOL_ERR_* code); tries sent again, by stage and the code that failed
 *   them; the frame bytes sent to the stage and received back, by stage.
 * - Requests per denoiser call (the step batcher tells them).
 * - Live workers per stage (`denoise.1` is shard 1), from the topology's
 *   latest picture at each scrape. A scrape never triggers discovery; every
 *   stage the deployment needs is listed, with 0 when it has no worker.
 */
import { stageLabel } from '@spool/shared';
import type { Counter, Histogram } from 'prom-client';
import type { StageCallObserver } from '../pipeline/nats-pipeline.ts';
import type { Topology } from '../topology.ts';
import type { MetricsRegistry } from './registry.ts';

/** From 1 ms (a text encoding on a GPU) to the default stage timeout (60 s). */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Up to SPOOL_MAX_BATCH's ceiling (64). */
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64];

export class StageMetrics implements StageCallObserver {
  private readonly calls: Histogram<'stage' | 'outcome'>;
  private readonly retries: Counter<'stage' | 'code'>;
  private readonly bytes: Counter<'stage' | 'direction'>;
  private readonly batches: Histogram;
  private topology: Topology | undefined;

  constructor(m: MetricsRegistry) {
    this.calls = m.histogram({
      name: 'spool_stage_call_duration_seconds',
      help: 'Tries of stage calls from the coordinator, by the stage a call enters at and outcome (ok or the SPOOL_ERR_* code)',
      labelNames: ['stage', 'outcome'],
      buckets: CALL_BUCKETS,
    });
    this.retries = m.counter({
      name: 'spool_stage_retries_total',
      help: 'Stage calls sent again after a try was lost or found no worker, by stage and the code of the failed try',
      labelNames: ['stage', 'code'],
    });
    this.bytes = m.counter({
      name: 'spool_stage_bytes_total',
      help: 'Frame bytes the coordinator sent to a stage call (sent) and got back from it (received), by the stage the call enters at',
      labelNames: ['stage', 'direction'],
    });
    this.batches = m.histogram({
      name: 'spool_denoise_batch_size',
      help: 'Requests merged into each denoiser call (1: sent alone)',
      buckets: BATCH_BUCKETS,
    });
    const latest = () => this.topology?.latest?.();
    m.gauge({
      name: 'spool_live_workers',
      help: "Live workers per stage (denoise.<shard> per denoiser shard), from the topology's latest discovery",
      labelNames: ['stage'],
      collect() {
        this.reset();
        const snap = latest();
        if (!snap) return;
        const count = new Map<string, number>(snap.expected.map((s) => [s.label, 0]));
        for (const w of snap.workers) {
          const label = stageLabel(w.role, w.shard);
          count.set(label, (count.get(label) ?? 0) + 1);
        }
        for (const [stage, n] of count) this.set({ stage }, n);
      },
    });
  }

  called(stage: string, outcome: string, seconds: number): void {
    this.calls.observe({ stage, outcome }, seconds);
  }

  retried(stage: string, code: string): void {
    this.retries.inc({ stage, code });
  }

  moved(stage: string, direction: 'sent' | 'received', bytes: number): void {
    this.bytes.inc({ stage, direction }, bytes);
  }

  /** The step batcher's `onSend`: one denoiser call of `requests` requests went out. */
  readonly batchSent = (requests: number): void => {
    this.batches.observe(requests);
  };

  /** Reads `topology`'s latest picture at each scrape (nothing when it keeps none). */
  watchTopology(topology: Topology): void {
    this.topology = topology;
  }
}
