/**
 * HTTP metrics: every answer fastify sends, by method, route pattern
 * (`/generate`, never the raw URL, so a client cannot grow the label set) and
 * status. A request that matched no route counts under `route="unmatched"`.
 * What Node's HTTP parser refuses before fastify sees a request (broken
 * framing, oversized headers) is not counted.
 */
import type { FastifyInstance } from 'fastify';
import type { Counter, Histogram } from 'prom-client';
import type { MetricsRegistry } from './registry.ts';

/** The route label of a request no route matched. */
export const UNMATCHED_ROUTE = 'unmatched';

/** From 5 ms (/health) to 10 min (a long POST /generate, the default request deadline). */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class HttpMetrics {
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;

  constructor(m: MetricsRegistry) {
    this.requests = m.counter({
      name: 'spool_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
    });
    this.duration = m.histogram({
      name: 'spool_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to the end of its answer, by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: HTTP_BUCKETS,
    });
  }

  /** Counts every answer of `app` once it is sent. */
  instrument(app: FastifyInstance): void {
    app.addHook('onResponse', (request, reply, done) => {
      const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE };
      this.requests.inc({ ...labels, status: String(reply.statusCode) });
      this.duration.observe(labels, reply.elapsedTime / 1000);
      done();
    });
  }
}
