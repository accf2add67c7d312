/**
 * The coordinator's metrics registry: one prom-client `Registry` per app,
 * made in `main.ts` (or by `build()` when it is not given one) and passed to
 * what measures, never prom-client's global default registry, so tests can
 * build many apps side by side. A module registers its own metrics here
 * through `counter`, `gauge` and `histogram`, which check the name and
 * register in this registry only:
 *
 *   metrics.gauge({
 *     name: 'spool_jobs', help: 'Jobs by status', labelNames: ['status'],
 *     collect() { for (const [status, n] of store.countByStatus()) this.set({ status }, n); },
 *   });
 *
 * Names are Prometheus style with the `spool_` prefix, in base units
 * (`_seconds`, `_bytes`, counters end in `_total`). Label values must come
 * from small fixed sets (a route pattern, a stage, an error code) and never
 * from what a client sent: no prompts, tokens, seeds or request ids. No
 * exemplars are kept.
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

export const METRIC_PREFIX = 'spool_';

/** A metric's configuration as `MetricsRegistry` takes it: the registry and exemplars are its own business. */
export type MetricConfig<C> = Omit<C, 'registers' | 'enableExemplars'>;

export interface MetricsRegistryOptions {
  /**
   * Also export the process's own metrics under the prefix: CPU
   * (`spool_process_cpu_seconds_total`), memory (`spool_process_resident_memory_bytes`,
   * `spool_nodejs_heap_size_used_bytes`), event-loop lag (`spool_nodejs_eventloop_lag_seconds`),
   * GC, handles. Off by default: each registry that has them watches the
   * event loop and GC for the rest of the process, which a test that builds
   * many apps should not pile up.
   */
  readonly processMetrics?: boolean;
}

export class MetricsRegistry {
  readonly registry = new Registry();

  constructor(opts: MetricsRegistryOptions = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
  }

  counter<L extends string>(config: MetricConfig<CounterConfiguration<L>>): Counter<L> {
    this.check(config.name);
    return new Counter({ ...config, registers: [this.registry] });
  }

  /** A gauge; one read at scrape time sets its values in `collect`. */
  gauge<L extends string>(config: MetricConfig<GaugeConfiguration<L>>): Gauge<L> {
    this.check(config.name);
    return new Gauge({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: MetricConfig<HistogramConfiguration<L>>): Histogram<L> {
    this.check(config.name);
    return new Histogram({ ...config, registers: [this.registry] });
  }

  /** The Content-Type of `exposition()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text exposition format, collected now. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  private check(name: string): void {
    if (!name.startsWith(METRIC_PREFIX)) throw new RangeError(`metric "${name}" must be named with the "${METRIC_PREFIX}" prefix`);
    if (this.registry.getSingleMetric(name)) {
      throw new RangeError(`metric "${name}" is registered already: register each metric once, in the module that owns what it measures`);
    }
  }
}
