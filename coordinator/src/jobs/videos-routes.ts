/**
 * The jobs API in the shape of OpenAI's videos API, Bearer auth, each token
 * seeing its own jobs only (another token's id answers 404 like an unknown
 * one):
 *
 *   POST   /v1/videos               make a job: answers at once with the video object (queued)
 *   GET    /v1/videos               the token's jobs, newest first, a page at a time
 *   GET    /v1/videos/{id}          one job: status, progress, error
 *   GET    /v1/videos/{id}/content  the MP4, streamed from the job store, once completed
 *   GET    /v1/videos/{id}/events   Server-Sent Events of its progress, to its end
 *   DELETE /v1/videos/{id}          cancel a queued or running job; delete a finished one
 *
 * Routes parse, call the job service and reply; admission refusals, a drain
 * and a missing stage answer as POST /generate does. Errors carry OpenAI's
 * error object in `error` as well as spool's `code` and `message`
 * (`http/openai-errors.ts`).
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ModelManifest } from '@spool/shared';
import type { FastifyInstance } from 'fastify';
import { coordinatorError } from '../errors.ts';
import { bearerAuth, callerOf } from '../http/auth.ts';
import { errorResponses, type ErrorCode } from '../http/error-responses.ts';
import type { JobService } from './job-service.ts';
import { DEFAULT_HEARTBEAT_MS, eventStream, SSE_HEADERS } from './sse.ts';
import { VideoObject } from './video-object.ts';
import { videoJobParams, videosBodyRules, videosBodySchema } from './videos-body.ts';
import { ContentQuery, DeletedVideo, EventStream, EVENT_STREAM_DESCRIPTION, JobIdParams, ListQuery, Mp4, VideoList } from './videos-schema.ts';

export interface VideosDeps {
  readonly manifest: ModelManifest;
  readonly jobs: JobService;
  readonly apiTokens: readonly string[];
  /** Comment lines on an event stream this often, ms. */
  readonly heartbeatMs?: number;
}

/** What making a job can answer with besides the video object (401 comes from `bearerAuth`). */
export const CREATE_ERRORS: readonly ErrorCode[] = [
  'SPOOL_ERR_VALIDATION',
  'SPOOL_ERR_QUEUE_FULL',
  'SPOOL_ERR_TOKEN_LIMIT',
  'SPOOL_ERR_RATE_LIMITED',
  'SPOOL_ERR_INTERNAL',
  'SPOOL_ERR_STAGE_UNAVAILABLE',
  'SPOOL_ERR_BUS_UNAVAILABLE',
  'SPOOL_ERR_SHUTTING_DOWN',
  'SPOOL_ERR_STORAGE_UNAVAILABLE',
  'SPOOL_ERR_STORAGE_FULL',
];
const READ_ERRORS: readonly ErrorCode[] = ['SPOOL_ERR_JOB_NOT_FOUND', 'SPOOL_ERR_STORAGE_UNAVAILABLE'];

const TAGS = ['videos'];

export function registerVideosRoutes(app: FastifyInstance, deps: VideosDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { jobs, manifest: m } = deps;
  const auth = bearerAuth(deps.apiTokens);
  const caller = (request: Parameters<typeof callerOf>[0]): string => callerOf(request) ?? 'nobody';
  const heartbeatMs = deps.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  app.addHook('preClose', async () => jobs.close());

  r.post(
    '/v1/videos',
    {
      onRequest: auth,
      config: { bodyRules: videosBodyRules(m) },
      schema: {
        summary: 'Make a video, in the background',
        description:
          "Takes POST /generate's body, and OpenAI's `model`, `seconds` and `size` where this model can make them, as JSON or as a form (as OpenAI's SDKs send it), " +
          'and answers at once with the job (status `queued`, progress 0). ' +
          'Follow it with GET /v1/videos/{id} or its events, and download it from GET /v1/videos/{id}/content once completed. Refused at once, storing nothing, ' +
          "with 429 and Retry-After when the queue, the token's share of it or its rate is full, and with 503 when a stage has no live worker or the coordinator is shutting down.",
        tags: TAGS,
        // A form too, as OpenAI's SDKs send it (numbers written as text are read as numbers).
        consumes: ['application/json', 'multipart/form-data', 'application/x-www-form-urlencoded'],
        body: videosBodySchema(m),
        response: { 200: VideoObject, ...errorResponses(CREATE_ERRORS, 'openai') },
      },
    },
    async (request) => jobs.create(caller(request), videoJobParams(request.body, m)),
  );

  r.get(
    '/v1/videos',
    {
      onRequest: auth,
      // Query values arrive as text; the schema takes numbers as numbers.
      preValidation: async (request) => {
        const q = request.query as Record<string, unknown>;
        if (typeof q.limit === 'string' && /^\d{1,6}$/.test(q.limit)) q.limit = Number(q.limit);
      },
      schema: {
        summary: 'Your jobs',
        description: 'The jobs made with this token, newest first (or oldest first with `order=asc`), a page at a time: pass the last_id of a page as `after` for the next.',
        tags: TAGS,
        querystring: ListQuery,
        response: { 200: VideoList, ...errorResponses(['SPOOL_ERR_VALIDATION', 'SPOOL_ERR_STORAGE_UNAVAILABLE'], 'openai') },
      },
    },
    async (request) => {
      const { limit, after, order } = request.query;
      const page = await jobs.list(caller(request), { limit, after, order });
      return { object: 'list' as const, data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.hasMore };
    },
  );

  r.get(
    '/v1/videos/:id',
    {
      onRequest: auth,
      schema: {
        summary: 'One job',
        description: 'The job now: its status, progress (from the steps done), and the error once failed.',
        tags: TAGS,
        params: JobIdParams,
        response: { 200: VideoObject, ...errorResponses(READ_ERRORS, 'openai') },
      },
    },
    async (request) => jobs.get(caller(request), request.params.id),
  );

  r.get(
    '/v1/videos/:id/content',
    {
      onRequest: auth,
      schema: {
        summary: "Download a job's video",
        description: 'The MP4 of a completed job, streamed from the job store. 404 SPOOL_ERR_VIDEO_NOT_READY while it is queued or in progress, or when it failed.',
        tags: TAGS,
        params: JobIdParams,
        querystring: ContentQuery,
        response: {
          200: {
            description: 'The video: H.264 (yuv420p, faststart) in MP4',
            headers: {
              'Content-Length': { type: 'integer', minimum: 0, description: 'Bytes of the video' },
              ETag: { type: 'string', description: "The video's SHA-256 digest, quoted" },
              'Content-Disposition': { type: 'string', description: 'inline; filename="<id>.mp4"' },
            },
            content: { 'video/mp4': { schema: Mp4 } },
          },
          ...errorResponses(['SPOOL_ERR_VALIDATION', 'SPOOL_ERR_JOB_NOT_FOUND', 'SPOOL_ERR_VIDEO_NOT_READY', 'SPOOL_ERR_STORAGE_UNAVAILABLE'], 'openai'),
        },
      },
    },
    async (request, reply) => {
      const variant = request.query.variant ?? 'video';
      const id = request.params.id;
      if (variant !== 'video') throw coordinatorError('SPOOL_ERR_VALIDATION', `variant ${JSON.stringify(variant)} is not served: spool keeps the MP4 only (variant=video, the default)`);
      const { video, stream } = await jobs.video(caller(request), id);
      return reply
        .code(200)
        .header('Content-Type', video.contentType)
        .header('Content-Length', String(video.bytes))
        .header('ETag', `"${video.digest}"`)
        .header('Content-Disposition', `inline; filename="${id}.mp4"`)
        .send(Readable.fromWeb(stream as WebReadableStream<Uint8Array>));
    },
  );

  r.get(
    '/v1/videos/:id/events',
    {
      onRequest: auth,
      schema: {
        summary: "A job's progress as it happens",
        description: EVENT_STREAM_DESCRIPTION,
        tags: TAGS,
        params: JobIdParams,
        response: { 200: { description: 'The event stream', content: { 'text/event-stream': { schema: EventStream } } }, ...errorResponses(READ_ERRORS, 'openai') },
      },
    },
    async (request, reply) => {
      const who = caller(request);
      const { id } = request.params;
      // A 404 before the stream starts; after, the stream tells.
      await jobs.get(who, id);
      const gone = new AbortController();
      reply.raw.on('close', () => gone.abort());
      const events = jobs.watch(who, id, gone.signal);
      const onError = (err: unknown): void => request.log.warn({ err, job: id }, 'a job event stream failed');
      return reply.code(200).headers(SSE_HEADERS).send(eventStream(events, { heartbeatMs, signal: gone.signal, onError }));
    },
  );

  r.delete(
    '/v1/videos/:id',
    {
      onRequest: auth,
      schema: {
        summary: 'Cancel or delete a job',
        description:
          'A queued or running job is cancelled (a running one stops within one step) and kept as failed with SPOOL_ERR_CANCELLED: `deleted: false, cancelled: true`. ' +
          'A finished job (completed, failed or cancelled) is deleted with its video: `deleted: true`. Answers once that is stored.',
        tags: TAGS,
        params: JobIdParams,
        response: { 200: DeletedVideo, ...errorResponses(READ_ERRORS, 'openai') },
      },
    },
    async (request) => {
      const { id } = request.params;
      const result = await jobs.remove(caller(request), id);
      return { id, object: 'video.deleted' as const, ...result };
    },
  );
}
