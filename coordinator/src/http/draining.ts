/**
 * While the coordinator drains, routes that would start new work answer 503
 * `SPOOL_ERR_SHUTTING_DOWN` with Retry-After, before auth or body parsing:
 * the server still listens, so a client learns why instead of meeting a
 * refused connection. Requests already admitted are not affected. The error
 * is the generation service's own refusal, which it gives any surface.
 */
import type { FastifyInstance } from 'fastify';
import type { GenerationService } from '../generation/service.ts';

/** `METHOD /route` of every route that starts a generation. */
export const WORK_ROUTES: ReadonlySet<string> = new Set(['POST /generate', 'POST /v1/videos']);

export function refuseWhileDraining(app: FastifyInstance, generation: GenerationService): void {
  app.addHook('onRequest', async (request) => {
    if (!WORK_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) return;
    const refused = generation.refusal();
    if (refused) throw refused;
  });
}
