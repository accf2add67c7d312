/**
 * POST /generate: auth, the body schema from the manifest, then the
 * generation service (fail-fast stage check, admission, deadline, the run)
 * and the reply: the MP4 as the body, or the typed error. The client going
 * away cancels the generation.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ModelManifest } from '@spool/shared';
import type { FastifyInstance } from 'fastify';
import type { GenerationService } from '../generation/service.ts';
import { bearerAuth, callerOf } from './auth.ts';
import { ErrorBody } from './error-handler.ts';
import { generateBodySchema, generationParams } from './generate-schema.ts';

export interface GenerateDeps {
  readonly manifest: ModelManifest;
  readonly generation: GenerationService;
  readonly apiTokens: readonly string[];
}

export function registerGenerateRoute(app: FastifyInstance, deps: GenerateDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const body = generateBodySchema(deps.manifest);
  const mp4 = Type.Unsafe<Buffer>({ type: 'string', format: 'binary', contentMediaType: 'video/mp4', description: 'The video, H.264 in MP4' });
  const response = { 200: mp4, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 499: ErrorBody, 500: ErrorBody, 502: ErrorBody, 503: ErrorBody, 504: ErrorBody };

  r.post('/generate', { onRequest: bearerAuth(deps.apiTokens), schema: { body, response } }, async (request, reply) => {
    const params = generationParams(request.body, deps.manifest);
    reply.header('X-Spool-Request-Id', request.id).header('X-Spool-Seed', String(params.seed));
    const generation = deps.generation.start({
      id: request.id,
      caller: callerOf(request) ?? 'anonymous',
      params,
      trace: request.spoolTrace?.ctx,
      log: request.log,
    });
    const onClose = (): void => {
      if (!reply.raw.writableFinished) generation.cancel('the client closed the connection');
    };
    reply.raw.on('close', onClose);
    try {
      const outcome = await generation.outcome;
      if (!outcome.ok) throw outcome.error;
      const { video } = outcome;
      reply
        .code(200)
        .header('Content-Type', 'video/mp4')
        .header('Content-Disposition', `inline; filename="spool-${request.id}.mp4"`)
        .header('X-Spool-Frames', String(video.frames))
        .header('X-Spool-Steps', String(params.steps))
        .header('X-Spool-Retries', String(outcome.retries));
      if (outcome.promptTruncated) reply.header('X-Spool-Prompt-Truncated', 'true');
      return reply.send(Buffer.from(video.mp4.buffer, video.mp4.byteOffset, video.mp4.byteLength));
    } finally {
      reply.raw.off('close', onClose);
    }
  });
}
