/**
 * GET /requests: the caller's requests running and waiting now, without
 * prompts, with when admission expects each to start and finish, as the
 * generation service lists them. Bearer auth like POST /generate (the hook
 * also puts the 401 and the token requirement in the OpenAPI document).
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { bearerAuth, callerOf } from './auth.ts';
import type { GenerationService } from '../generation/service.ts';

export const RequestList = Type.Array(
  Type.Object(
    {
      id: Type.String({ description: 'The X-Spool-Request-Id of the request' }),
      state: Type.Union([Type.Literal('queued'), Type.Literal('encoding'), Type.Literal('denoising'), Type.Literal('decoding')]),
      step: Type.Integer({ minimum: 0, description: 'Denoising steps done so far' }),
      steps: Type.Integer({ minimum: 1, description: 'Denoising steps the request asked for' }),
      num_frames: Type.Integer({ description: 'Frames the request asked for' }),
      elapsed_ms: Type.Integer({ minimum: 0, description: 'Time since the request arrived, queueing included' }),
      queue_position: Type.Optional(Type.Integer({ minimum: 1, description: 'Only while queued: 1 starts next' })),
      expected_start_ms: Type.Optional(Type.Integer({ minimum: 0, description: 'Only while queued: expected ms until it starts, from recent run times and the queue ahead' })),
      expected_finish_ms: Type.Optional(Type.Integer({ minimum: 0, description: 'Expected ms until it finishes' })),
    },
    { additionalProperties: false },
  ),
  { description: "The caller's requests (sent with the same token) running and queued, in arrival order" },
);

export interface RequestsDeps {
  readonly generation: GenerationService;
  readonly apiTokens: readonly string[];
}

export function registerRequestsRoute(app: FastifyInstance, deps: RequestsDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const schema = {
    summary: 'Your requests now',
    description:
      'The requests sent with the same token that are running or queued now, in arrival order, with their progress and when admission expects each to start and finish. ' +
      'Prompts are never listed.',
    tags: ['generation'],
    response: { 200: RequestList },
  };
  r.get('/requests', { onRequest: bearerAuth(deps.apiTokens), schema }, async (request) =>
    deps.generation.list(callerOf(request) ?? 'nobody'),
  );
}
