/**
 * Generation metrics, from the generation service's events (every surface's
 * generations: POST /generate now, jobs later) and its admission state:
 *
 * - how long each generation took from start to end, queueing included, by
 *   how it ended (`completed`, `failed`, `cancelled`);
 * - how long each phase took: `queued` (from arrival until encoding starts:
 *   the stage check and the wait for a slot), `encoding` (the prompt),
 *   `denoising` (every step), `decoding` (VAE decoding and video encoding).
 *   A phase is observed once it is over: when the next one starts, or, for
 *   the last one reached, when the generation completes (a phase cut short
 *   by a failure is not a phase's time);
 * - denoising steps done, errors by code, admission's refusals by code;
 * - requests running and waiting, read from admission at each scrape.
 *
 * Nothing about a request is a label: no prompt, caller, seed or id.
 */
import type { Counter, Histogram } from 'prom-client';
import { AdmissionRefusedError } from '../admission/admission-queue.ts';
import type { Generation, GenerationPhase } from '../generation/generation.ts';
import type { GenerationService } from '../generation/service.ts';
import type { MetricsRegistry } from './registry.ts';

/** From a tenth of a second (a tiny model on the CPU) to half an hour (a long video on a big one). */
const GENERATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800];
/** A phase may take a few ms (an idle queue) or many minutes (denoising). */
const PHASE_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200];

export class GenerationMetrics {
  private readonly duration: Histogram<'outcome'>;
  private readonly phases: Histogram<'phase'>;
  private readonly steps: Counter;
  private readonly errors: Counter<'code'>;
  private readonly refusals: Counter<'code'>;
  private service: GenerationService | undefined;

  constructor(m: MetricsRegistry) {
    this.duration = m.histogram({
      name: 'spool_generation_duration_seconds',
      help: 'Generations from start to end, queueing included, by outcome (completed, failed, cancelled)',
      labelNames: ['outcome'],
      buckets: GENERATION_BUCKETS,
    });
    this.phases = m.histogram({
      name: 'spool_generation_phase_duration_seconds',
      help: 'Time generations spent in each finished phase: queued (arrival to encoding), encoding, denoising, decoding (VAE and video encoder)',
      labelNames: ['phase'],
      buckets: PHASE_BUCKETS,
    });
    this.steps = m.counter({ name: 'spool_denoise_steps_total', help: 'Denoising steps done, every generation together' });
    this.errors = m.counter({
      name: 'spool_generation_errors_total',
      help: 'Generations that ended without a video, by error code (refusals and cancellations included)',
      labelNames: ['code'],
    });
    this.refusals = m.counter({
      name: 'spool_admission_refusals_total',
      help: 'Generations admission refused (429), by code: SPOOL_ERR_QUEUE_FULL, SPOOL_ERR_TOKEN_LIMIT, SPOOL_ERR_RATE_LIMITED',
      labelNames: ['code'],
    });
    const admission = (): GenerationService['admission'] | undefined => this.service?.admission;
    m.gauge({
      name: 'spool_queue_running',
      help: 'Generations running now (holding an admission slot, SPOOL_MAX_CONCURRENT at most)',
      collect() {
        const a = admission();
        if (a) this.set(a.running);
      },
    });
    m.gauge({
      name: 'spool_queue_waiting',
      help: 'Generations waiting for an admission slot now (the queue depth, SPOOL_MAX_QUEUE at most)',
      collect() {
        const a = admission();
        if (a) this.set(a.waiting);
      },
    });
  }

  /** Follows every generation `service` starts from now on, and reads its admission at each scrape; returns the stop. */
  watch(service: GenerationService): () => void {
    if (this.service) throw new Error('these metrics already follow a generation service; make one Metrics per app');
    this.service = service;
    const stop = service.observe((g) => this.follow(g));
    return () => {
      stop();
      if (this.service === service) this.service = undefined;
    };
  }

  private follow(g: Generation): void {
    let phase: GenerationPhase = 'queued';
    let since = 0;
    g.subscribe((e) => {
      if (e.type === 'step') {
        this.steps.inc();
      } else if (e.type === 'phase') {
        if (e.state === phase) return;
        this.phases.observe({ phase }, (e.elapsedMs - since) / 1000);
        phase = e.state;
        since = e.elapsedMs;
      } else {
        if (e.state === 'completed') this.phases.observe({ phase }, (e.elapsedMs - since) / 1000);
        this.duration.observe({ outcome: e.state }, e.elapsedMs / 1000);
        if (e.error) {
          this.errors.inc({ code: e.error.code });
          if (e.error instanceof AdmissionRefusedError) this.refusals.inc({ code: e.error.code });
        }
      }
    });
  }
}
