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
import { errorResponses, withHeaders, type ErrorCode, type HeaderDoc } from './error-responses.ts';
import { generateBodySchema, generationParams, MAX_SEED } from './generate-schema.ts';

export interface GenerateDeps {
  readonly manifest: ModelManifest;
  readonly generation: GenerationService;
  readonly apiTokens: readonly string[];
}

/** What POST /generate can answer with, besides the video (401 and its Bearer requirement come from `bearerAuth`). */
export const GENERATE_ERRORS: readonly ErrorCode[] = [
  'SPOOL_ERR_VALIDATION',
  'SPOOL_ERR_QUEUE_FULL',
  'SPOOL_ERR_TOKEN_LIMIT',
  'SPOOL_ERR_RATE_LIMITED',
  'SPOOL_ERR_CANCELLED',
  'SPOOL_ERR_INTERNAL',
  'SPOOL_ERR_STAGE_FAILED',
  'SPOOL_ERR_BAD_MESSAGE',
  'SPOOL_ERR_MODEL',
  'SPOOL_ERR_ENCODER',
  'SPOOL_ERR_STAGE_UNAVAILABLE',
  'SPOOL_ERR_DRAINING',
  'SPOOL_ERR_CALL_LOST',
  'SPOOL_ERR_BUS_UNAVAILABLE',
  'SPOOL_ERR_SHUTTING_DOWN',
  'SPOOL_ERR_STAGE_TIMEOUT',
  'SPOOL_ERR_DEADLINE',
];

const count = (description: string) => ({ type: 'integer', minimum: 0, description }) as const;

/** Set as soon as the body is accepted, so also on the errors that come after. */
const REQUEST_HEADERS: Record<string, HeaderDoc> = {
  'X-Spool-Request-Id': { type: 'string', description: 'The id of this request: GET /requests lists it under this id while it runs.' },
  'X-Spool-Seed': { type: 'integer', minimum: 0, maximum: MAX_SEED, description: 'The seed used: send it back to make the same video again.' },
};

/** The headers of the video answer. */
const VIDEO_HEADERS: Record<string, HeaderDoc> = {
  ...REQUEST_HEADERS,
  'X-Spool-Frames': count('Frames in the video (the num_frames asked for).'),
  'X-Spool-Steps': count('Denoising steps run.'),
  'X-Spool-Retries': count('Stage calls sent again after a worker failed or was lost.'),
  'X-Spool-Prompt-Truncated': { type: 'string', enum: ['true'], description: "Only when the prompt was cut to the text encoder's token limit." },
  'Content-Disposition': { type: 'string', description: 'inline; filename="spool-<request id>.mp4"' },
};

export function registerGenerateRoute(app: FastifyInstance, deps: GenerateDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const body = generateBodySchema(deps.manifest);
  const mp4 = Type.Unsafe<Buffer>({ type: 'string', format: 'binary', contentMediaType: 'video/mp4', description: 'The video, H.264 in MP4' });
  const errors = errorResponses(GENERATE_ERRORS);
  // Every error but a refused body or token comes once the body is accepted, with its id and seed.
  for (const status of [429, 499, 500, 502, 503, 504]) errors[status] = withHeaders(errors[status], REQUEST_HEADERS);
  const response = {
    200: { description: 'The video: H.264 (yuv420p, faststart) in MP4, exactly num_frames frames at fps', headers: VIDEO_HEADERS, content: { 'video/mp4': { schema: mp4 } } },
    ...errors,
  };
  const schema = {
    summary: 'Make a video',
    description:
      'Runs the whole generation while the connection stays open and answers with the MP4. The request waits for a free slot first (GET /info `queue` says how busy the coordinator is); ' +
      "closing the connection cancels it. Refused at once with 429 and Retry-After when the queue, the token's share of it or its rate is full, and with 503 when a stage has no live worker.",
    tags: ['generation'],
    body,
    response,
  };

  r.post('/generate', { onRequest: bearerAuth(deps.apiTokens), schema }, async (request, reply) => {
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
