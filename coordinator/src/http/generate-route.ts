/**
 * POST /generate: auth, body schema from the manifest, a fail-fast check that
 * every stage is live, admission (by caller and size), then the request
 * runner inside the request's span. The client going away, the deadline or
 * shutdown aborts the run; the MP4 comes back as the body. The request is on
 * the board of GET /requests from arrival to the end.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { planFrames, wireError, type ModelManifest } from '@spool/shared';
import type { FastifyInstance } from 'fastify';
import { coordinatorError } from '../errors.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { withTallies, type RetryTally } from '../pipeline/retry-tally.ts';
import { runGeneration } from '../pipeline/runner.ts';
import type { StepBatcher } from '../batching/step-batcher.ts';
import { randomSeed } from '../sampler/rng.ts';
import type { AdmissionQueue } from '../admission/admission-queue.ts';
import { describeMissing, type Topology } from '../topology.ts';
import { bearerAuth, callerOf } from './auth.ts';
import { ErrorBody } from './error-handler.ts';
import { generateBodySchema } from './generate-schema.ts';
import type { InFlight } from './in-flight.ts';
import type { RequestBoard } from './request-board.ts';
import { inRequestContext } from './tracing.ts';

export interface GenerateDeps {
  readonly manifest: ModelManifest;
  readonly pipeline: Pipeline;
  readonly topology: Topology;
  readonly admission: AdmissionQueue;
  readonly batcher?: StepBatcher;
  readonly board: RequestBoard;
  readonly inFlight: InFlight;
  readonly apiTokens: readonly string[];
  readonly requestTimeoutMs: number;
}

export function registerGenerateRoute(app: FastifyInstance, deps: GenerateDeps): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const { manifest: m } = deps;
  const body = generateBodySchema(m);
  const mp4 = Type.Unsafe<Buffer>({ type: 'string', format: 'binary', contentMediaType: 'video/mp4', description: 'The video, H.264 in MP4' });
  const response = { 200: mp4, 400: ErrorBody, 401: ErrorBody, 429: ErrorBody, 499: ErrorBody, 500: ErrorBody, 502: ErrorBody, 503: ErrorBody, 504: ErrorBody };

  r.post('/generate', { onRequest: bearerAuth(deps.apiTokens), schema: { body, response } }, (request, reply) =>
    inRequestContext(request, async () => {
      const b = request.body;
      const params = {
        prompt: b.prompt.trim(),
        negativePrompt: b.negative_prompt,
        numFrames: b.num_frames ?? m.defaults.num_frames,
        fps: b.fps ?? m.defaults.fps,
        guidanceScale: b.guidance_scale ?? m.defaults.guidance_scale,
        guidanceRescale: b.guidance_rescale ?? m.defaults.guidance_rescale,
        steps: b.num_inference_steps ?? m.defaults.num_inference_steps,
        seed: b.seed ?? randomSeed(),
      };
      const span = request.spoolTrace?.span;
      span?.setAttributes({
        'spool.seed': params.seed,
        'spool.num_frames': params.numFrames,
        'spool.steps': params.steps,
        'spool.guidance_scale': params.guidanceScale,
        'spool.guidance_rescale': params.guidanceRescale,
      });
      reply.header('X-Spool-Request-Id', request.id).header('X-Spool-Seed', String(params.seed));

      const ac = new AbortController();
      const onClose = (): void => {
        if (!reply.raw.writableFinished) ac.abort(wireError('SPOOL_ERR_CANCELLED', 'the client closed the connection'));
      };
      reply.raw.on('close', onClose);
      const deadline = setTimeout(
        () => ac.abort(coordinatorError('SPOOL_ERR_DEADLINE', `the request did not finish within ${deps.requestTimeoutMs} ms (SPOOL_REQUEST_TIMEOUT_MS)`)),
        deps.requestTimeoutMs,
      );
      const leave = deps.inFlight.add(ac);
      const entry = deps.board.add(request.id, { steps: params.steps, numFrames: params.numFrames }, callerOf(request));
      try {
        // Fail fast, naming the stage, rather than waiting on a chain that cannot finish.
        // A recent picture is enough to go ahead; refusing takes a fresh one.
        let snap = await deps.topology.snapshot({ maxAgeMs: 5_000 });
        if (snap.missing.length > 0) snap = await deps.topology.snapshot({ fresh: true });
        if (snap.missing.length > 0) {
          throw wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `cannot generate: ${describeMissing(snap)}`, { stage: snap.missing[0] });
        }
        // The request's size, known now: admission expects its run time from it.
        const work = params.steps * planFrames(params.numFrames, m.latent.temporal_compression).latentFrames;
        const slot = await deps.admission.acquire({ id: request.id, caller: callerOf(request) ?? 'anonymous', work }, ac.signal);
        let completed = false;
        const tally: RetryTally = { retries: 0 };
        try {
          const result = await withTallies([tally], () => runGeneration(
            {
              pipeline: deps.pipeline,
              manifest: m,
              log: request.log,
              batcher: deps.batcher,
              requestId: request.id,
              onProgress: (p) => entry.update(p.phase, p.step),
            },
            params,
            ac.signal,
          ));
          completed = true;
          const { video } = result;
          reply
            .code(200)
            .header('Content-Type', 'video/mp4')
            .header('Content-Disposition', `inline; filename="spool-${request.id}.mp4"`)
            .header('X-Spool-Frames', String(video.frames))
            .header('X-Spool-Steps', String(params.steps))
            .header('X-Spool-Retries', String(tally.retries));
          span?.setAttribute('spool.retries', tally.retries);
          if (result.truncated[1]) reply.header('X-Spool-Prompt-Truncated', 'true');
          return reply.send(Buffer.from(video.mp4.buffer, video.mp4.byteOffset, video.mp4.byteLength));
        } finally {
          slot.release({ completed });
        }
      } finally {
        clearTimeout(deadline);
        reply.raw.off('close', onClose);
        entry.remove();
        leave();
      }
    }),
  );
}
