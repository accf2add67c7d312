/**
 * The coordinator's metrics: one registry and the instruments the
 * coordinator's own modules feed. `main.ts` makes one (with the process's
 * own metrics) and hands its parts to what they measure: `stages` to the NATS
 * pipeline (as its observer) and the step batcher (`stages.batchSent`), the
 * whole to `build()`, which instruments HTTP, follows the generation service,
 * reads the topology at scrape time and serves GET /metrics. `build()` makes
 * one of its own when it is not given one.
 *
 * Another module adds a metric of its own through the registry methods
 * (`metrics.gauge({...})`, `counter`, `histogram`; see `registry.ts`).
 */
import { GenerationMetrics } from './generation-metrics.ts';
import { HttpMetrics } from './http-metrics.ts';
import { MetricsRegistry, type MetricsRegistryOptions } from './registry.ts';
import { StageMetrics } from './stage-metrics.ts';

export class Metrics extends MetricsRegistry {
  readonly http: HttpMetrics;
  readonly generations: GenerationMetrics;
  readonly stages: StageMetrics;

  constructor(opts: MetricsRegistryOptions = {}) {
    super(opts);
    this.http = new HttpMetrics(this);
    this.generations = new GenerationMetrics(this);
    this.stages = new StageMetrics(this);
  }
}
