/**
 * The coordinator's HTTP app: `build(opts)` wires routes, auth, validation,
 * errors and tracing around a Pipeline and a Topology, with no port and no
 * NATS of its own, so tests drive it through `inject()`.
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Logger, ModelManifest } from '@spool/shared';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { DEFAULT_BATCH_WINDOW_MS, DEFAULT_MAX_BATCH, DEFAULT_MAX_CONCURRENT } from './config.ts';
import { coordinatorError } from './errors.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.ts';
import { registerGenerateRoute } from './http/generate-route.ts';
import { fieldRules, generateBodySchema } from './http/generate-schema.ts';
import { InFlight } from './http/in-flight.ts';
import { RequestBoard } from './http/request-board.ts';
import { registerRequestsRoute } from './http/requests-route.ts';
import { registerStatusRoutes } from './http/status-routes.ts';
import { CachedSystemInfo, type SystemInfoSource } from './http/system-info.ts';
import { registerTracing } from './http/tracing.ts';
import type { Pipeline } from './pipeline/pipeline.ts';
import { StepBatcher } from './pipeline/step-batcher.ts';
import { AdmissionQueue } from './scheduler/admission.ts';
import type { Topology } from './topology.ts';

export interface BuildOptions {
  readonly manifest: ModelManifest;
  readonly pipeline: Pipeline;
  readonly topology: Topology;
  readonly apiTokens: readonly string[];
  readonly maxConcurrent?: number;
  readonly maxQueue?: number;
  readonly requestTimeoutMs?: number;
  /** How long a denoiser call waits for others of the same shape, ms; 0 disables step batching. */
  readonly batchWindowMs?: number;
  /** Most requests merged into one denoiser call. */
  readonly maxBatch?: number;
  /** Most denoiser calls in flight at once (the pipeline depth, one per shard); unbounded when absent. */
  readonly maxCallsInFlight?: number;
  readonly systemInfo?: SystemInfoSource;
  /** Requests in flight, for shutdown; one is made when not given. */
  readonly inFlight?: InFlight;
  /** Without a logger the app logs nothing. */
  readonly log?: Logger;
  readonly bodyLimit?: number;
}

export function build(opts: BuildOptions): FastifyInstance {
  if (opts.apiTokens.length === 0) throw new Error('build() needs at least one API token');
  const bodyLimit = opts.bodyLimit ?? 64 * 1024;
  const app: FastifyInstance = Fastify({
    // Without an instance fastify logs nothing.
    loggerInstance: opts.log as FastifyBaseLogger | undefined,
    bodyLimit,
    // One line per request, written by the hook below, instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    // What the router or Node's parser refuses still answers in the error shape.
    frameworkErrors,
    clientErrorHandler,
    ajv: {
      // Types are checked, not coerced: "49" is not a frame count. Every
      // problem is reported at once, and nothing is silently dropped.
      customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: false },
    },
  });

  // JSON is the only body the API takes; any other type is refused before parsing.
  // JSON is UTF-8 (RFC 8259): a body that is not is refused rather than run
  // with U+FFFD in place of the bytes the client sent.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (!isUtf8(bytes)) {
      done(coordinatorError('SPOOL_ERR_VALIDATION', 'the request body is not valid UTF-8; send the JSON as UTF-8'), undefined);
      return;
    }
    parseJson(request, bytes.toString('utf8'), done);
  });
  registerTracing(app);
  app.addHook('onResponse', (request, reply, done) => {
    // Health polls are frequent and dull; everything else is worth a line.
    const level = request.url === '/health' ? 'debug' : 'info';
    request.log[level](
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      `${request.method} ${request.url} ${reply.statusCode}`,
    );
    done();
  });
  registerErrorHandling(app, { bodyRules: fieldRules(generateBodySchema(opts.manifest)), bodyLimit });
  const admission = new AdmissionQueue({ maxConcurrent: opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT, maxQueue: opts.maxQueue ?? 16 });
  const board = new RequestBoard();
  registerStatusRoutes(app, {
    manifest: opts.manifest,
    topology: opts.topology,
    systemInfo: opts.systemInfo ?? new CachedSystemInfo(),
    admission,
  });
  registerRequestsRoute(app, { board, apiTokens: opts.apiTokens });
  registerGenerateRoute(app, {
    manifest: opts.manifest,
    pipeline: opts.pipeline,
    topology: opts.topology,
    admission,
    batcher: new StepBatcher(opts.pipeline, {
      windowMs: opts.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
      maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH,
      maxInFlight: opts.maxCallsInFlight,
    }),
    board,
    inFlight: opts.inFlight ?? new InFlight(),
    apiTokens: opts.apiTokens,
    requestTimeoutMs: opts.requestTimeoutMs ?? 600_000,
  });
  return app;
}
