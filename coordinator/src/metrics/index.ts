export { GenerationMetrics } from './generation-metrics.ts';
export { HttpMetrics, UNMATCHED_ROUTE } from './http-metrics.ts';
export { Metrics } from './metrics.ts';
export { METRIC_PREFIX, MetricsRegistry, type MetricConfig, type MetricsRegistryOptions } from './registry.ts';
export { StageMetrics } from './stage-metrics.ts';
