/**
 * GET /metrics: every metric in the Prometheus text exposition format,
 * collected at the scrape (gauges read admission and the topology's latest
 * picture then; a scrape never triggers discovery). Without
 * SPOOL_METRICS_TOKEN it needs no auth, like /health: keep the port from the
 * public internet, or set the token. With it, a scrape must send
 * `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials: …}`).
 * The API tokens do not open it, and it does not open the API.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { coordinatorError } from '../errors.ts';
import type { MetricsRegistry } from '../metrics/registry.ts';
import { checkAuthorization, tokenMatcher, WWW_AUTHENTICATE } from './auth.ts';
import { errorResponses } from './error-responses.ts';

export interface MetricsRouteDeps {
  readonly metrics: MetricsRegistry;
  /** SPOOL_METRICS_TOKEN: the bearer token a scrape must send; open when absent. */
  readonly token?: string;
}

const Exposition = {
  description: 'Every metric, in the Prometheus text exposition format 0.0.4',
  content: { 'text/plain': { schema: Type.String({ description: 'Prometheus text exposition format 0.0.4' }) } },
};

export function registerMetricsRoute(app: FastifyInstance, deps: MetricsRouteDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const onRequest = deps.token === undefined ? [] : [scrapeAuth(deps.token)];
  const schema = {
    summary: 'Prometheus metrics',
    description:
      'HTTP requests and latency, generation and per-phase times, admission (queue, running, refusals), stage call times, retries and bytes per hop, ' +
      'denoiser batch sizes, live workers per stage, and the process. No label carries a prompt, token, seed or request id. ' +
      'Open like /health unless SPOOL_METRICS_TOKEN is set; then it takes that token (the API tokens do not open it).',
    tags: ['status'],
    response: { 200: Exposition, ...(deps.token === undefined ? {} : errorResponses(['SPOOL_ERR_UNAUTHORIZED'])) },
  };
  r.get('/metrics', { onRequest, schema }, async (_request, reply) => {
    const text = await deps.metrics.exposition();
    return reply.code(200).header('Content-Type', deps.metrics.contentType).header('Cache-Control', 'no-store').send(text);
  });
}

function scrapeAuth(token: string) {
  const match = tokenMatcher([token]);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = checkAuthorization(request.headers.authorization, match);
    if (typeof result === 'string') {
      reply.header('WWW-Authenticate', WWW_AUTHENTICATE);
      throw coordinatorError('SPOOL_ERR_UNAUTHORIZED', `${result} (GET /metrics takes the SPOOL_METRICS_TOKEN)`);
    }
  };
}
