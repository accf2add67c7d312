/**
 * While the coordinator drains, routes that would start new work answer 503
 * `SPOOL_ERR_SHUTTING_DOWN` with Retry-After, before auth or body parsing:
 * the server still listens, so a client learns why instead of meeting a
 * refused connection. Requests already admitted are not affected.
 */
import type { FastifyInstance } from 'fastify';
import { coordinatorError } from '../errors.ts';
import type { Drain } from '../lifecycle/drain.ts';
import type { InFlight } from './in-flight.ts';

/** `METHOD /route` of every route that starts a generation. */
export const WORK_ROUTES: ReadonlySet<string> = new Set(['POST /generate']);

export function refuseWhileDraining(app: FastifyInstance, drain: Drain, inFlight: InFlight): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!drain.draining || !WORK_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) return;
    reply.header('Retry-After', String(drain.retryAfterS));
    throw coordinatorError(
      'SPOOL_ERR_SHUTTING_DOWN',
      `the coordinator is shutting down: it is finishing the ${inFlight.size} request(s) it had admitted and takes no new ones; retry in ${drain.retryAfterS} s (against another instance, or this one once restarted)`,
    );
  });
}
