/**
 * The coordinator's HTTP app: `build(opts)` wires routes, auth, validation,
 * errors, tracing, metrics, the OpenAPI docs and the playground page around a generation service
 * (made here from a Pipeline and the admission options when not given), the
 * job service of /v1/videos and a Topology, with no port and no NATS of its own, so tests drive it through
 * `inject()`. Routes are declared when the app gets ready (`inject()` and
 * `listen()` see to that).
 */
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Logger, ModelManifest } from '@spool/shared';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { AdmissionQueue } from './admission/admission-queue.ts';
import { batchPolicy } from './batching/plan.ts';
import { StepBatcher } from './batching/step-batcher.ts';
import {
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_MAX_BATCH,
  DEFAULT_MAX_CONCURRENT,
  DEFAULT_MAX_QUEUE,
  DEFAULT_RATE_BURST,
  DEFAULT_RATE_LIMIT_PER_MIN,
  defaultMaxPerToken,
} from './config.ts';
import { coordinatorError } from './errors.ts';
import { GenerationService } from './generation/service.ts';
import { refuseWhileDraining } from './http/draining.ts';
import { isDocsRoute, registerDocs } from './http/docs.ts';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './http/error-handler.ts';
import { registerGenerateRoute } from './http/generate-route.ts';
import { registerMetricsRoute } from './http/metrics-route.ts';
import { fieldRules, generateBodySchema } from './http/generate-schema.ts';
import { isPlaygroundRoute, registerPlayground } from './http/playground.ts';
import { registerRequestsRoute } from './http/requests-route.ts';
import { describeRoutes, routeCatalog } from './http/route-catalog.ts';
import { registerStatusRoutes } from './http/status-routes.ts';
import { CachedSystemInfo, type SystemInfoSource } from './http/system-info.ts';
import { registerTracing } from './http/tracing.ts';
import { JobService, type JobServiceOptions } from './jobs/job-service.ts';
import { registerJobMetrics } from './jobs/jobs-metrics.ts';
import type { JobStore } from './jobs/store.ts';
import { parseFormBody } from './jobs/form-body.ts';
import { videosBodySchema } from './jobs/videos-body.ts';
import { registerVideosRoutes } from './jobs/videos-routes.ts';
import type { Drain } from './lifecycle/drain.ts';
import type { InFlight } from './lifecycle/in-flight.ts';
import { Metrics } from './metrics/metrics.ts';
import type { Pipeline } from './pipeline/pipeline.ts';
import type { Topology } from './topology.ts';

/** The routes that take a form body besides JSON. */
const FORM_ROUTES: ReadonlySet<string> = new Set(['POST /v1/videos']);

export interface BuildOptions {
  readonly manifest: ModelManifest;
  readonly topology: Topology;
  readonly apiTokens: readonly string[];
  /**
   * The generation lifecycle every route that generates shares. When given,
   * its own parts are used, and the options below that would make them
   * (pipeline, admission limits, clock, deadline, batching, inFlight, drain,
   * tracePrompts) are not read.
   */
  readonly generation?: GenerationService;
  /** The stages; needed when no generation service is given. */
  readonly pipeline?: Pipeline;
  readonly maxConcurrent?: number;
  readonly maxQueue?: number;
  /** Requests one token may have running and waiting; half the places by default when there are several tokens. */
  readonly maxPerToken?: number;
  /** Requests a minute per token after the burst; 0 turns the rate limit off. */
  readonly rateLimitPerMin?: number;
  readonly rateBurst?: number;
  /** The clock admission decides by, ms; a fake one in tests. */
  readonly clock?: () => number;
  readonly requestTimeoutMs?: number;
  /** How long a denoiser call waits for others of the same shape, ms; 0 disables step batching. */
  readonly batchWindowMs?: number;
  /** Most requests merged into one denoiser call. */
  readonly maxBatch?: number;
  /**
   * Most denoiser calls in flight at once (the pipeline depth: one per shard
   * and replica); a function is asked at every decision, so the depth can
   * follow the live topology. Unbounded when absent.
   */
  readonly maxCallsInFlight?: number | (() => number);
  readonly systemInfo?: SystemInfoSource;
  /** Requests in flight, for shutdown; one is made when not given. */
  readonly inFlight?: InFlight;
  /** Once draining, new generation requests get 503 and /health turns 503. */
  readonly drain?: Drain;
  /**
   * The registry GET /metrics serves; the app instruments HTTP, follows the
   * generation service and reads the topology into it. One of its own (without
   * process metrics) when not given. Give the same one to the pipeline and
   * the step batcher made outside (`metrics.stages`).
   */
  readonly metrics?: Metrics;
  /** SPOOL_METRICS_TOKEN: the bearer token GET /metrics takes; open when absent. */
  readonly metricsToken?: string;
  /** Without a logger the app logs nothing. */
  readonly log?: Logger;
  /**
   * The jobs of /v1/videos (`main.ts` makes it, and gives it its store once
   * that opens). When absent, one is made from the generation service with
   * `jobStore`; without a store, the /v1/videos routes answer 503
   * SPOOL_ERR_STORAGE_UNAVAILABLE.
   */
  readonly jobs?: JobService;
  readonly jobStore?: JobStore;
  /** Settings of the job service made here (SPOOL_JOBS_MAX_ATTEMPTS, write interval, …). */
  readonly jobOptions?: Partial<Pick<JobServiceOptions, 'maxAttempts' | 'writeIntervalMs' | 'pollMs' | 'retryMs'>>;
  /** Comment lines on a job's event stream this often, ms. */
  readonly sseHeartbeatMs?: number;
  /** How long a count of the jobs by status (`spool_jobs`) is reused, ms. */
  readonly jobCountCacheMs?: number;
  /** The prompts on the request's root span (SPOOL_TRACE_PROMPTS=1); off by default. */
  readonly tracePrompts?: boolean;
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
  // POST /v1/videos also takes a form, as OpenAI's SDKs and `curl -F` send it; no other route does.
  const numericFields = new Set(
    Object.entries(videosBodySchema(opts.manifest).properties)
      .filter(([, field]) => field.type === 'integer' || field.type === 'number')
      .map(([name]) => name),
  );
  app.addContentTypeParser(['multipart/form-data', 'application/x-www-form-urlencoded'], { parseAs: 'buffer' }, (request, body, done) => {
    if (!FORM_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) {
      done(coordinatorError('SPOOL_ERR_VALIDATION', `Content-Type must be application/json (got ${JSON.stringify(request.headers['content-type'])})`), undefined);
      return;
    }
    try {
      done(null, parseFormBody(request.headers['content-type'] ?? '', body as Buffer, numericFields));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Before any route is declared, so the 404 answer names them all.
  const routes = routeCatalog(app);
  registerTracing(app);
  const metrics = opts.metrics ?? new Metrics();
  metrics.http.instrument(app);
  app.addHook('onResponse', (request, reply, done) => {
    // Health polls, metric scrapes and the pages' files are frequent and dull; everything else is worth a line.
    const page = isDocsRoute(request.routeOptions.url) || isPlaygroundRoute(request.routeOptions.url);
    const level = request.url === '/health' || request.url === '/metrics' || page ? 'debug' : 'info';
    request.log[level](
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      `${request.method} ${request.url} ${reply.statusCode}`,
    );
    done();
  });
  registerErrorHandling(app, { bodyRules: fieldRules(generateBodySchema(opts.manifest)), bodyLimit }, () => describeRoutes(routes));
  const generation = opts.generation ?? generationService(opts, metrics);
  const unwatch = metrics.generations.watch(generation);
  app.addHook('onClose', async () => unwatch());
  metrics.stages.watchTopology(opts.topology);
  const jobs = opts.jobs ?? new JobService({ generation, manifest: opts.manifest, store: opts.jobStore, log: opts.log, ...opts.jobOptions });
  registerJobMetrics(metrics, jobs, opts.jobCountCacheMs);
  refuseWhileDraining(app, generation);
  // The OpenAPI document is made from the routes declared once its plugin has
  // loaded, and plugins load in order, at ready(): so every route is declared
  // in the plugin below, none on `app` directly (such a route would be
  // declared before the document's hook exists, and missing from it).
  registerDocs(app, { manifest: opts.manifest });
  // The playground at GET /: hidden from the document, as the docs page's own routes are.
  app.register(async (page) => registerPlayground(page));
  app.register(async (api) => {
    registerStatusRoutes(api, {
      manifest: opts.manifest,
      topology: opts.topology,
      systemInfo: opts.systemInfo ?? new CachedSystemInfo(),
      admission: generation.admission,
      drain: generation.drain,
      inFlight: generation.inFlight,
    });
    registerRequestsRoute(api, { generation, apiTokens: opts.apiTokens });
    registerGenerateRoute(api, { manifest: opts.manifest, generation, apiTokens: opts.apiTokens });
    registerMetricsRoute(api, { metrics, token: opts.metricsToken });
    registerVideosRoutes(api, { manifest: opts.manifest, jobs, apiTokens: opts.apiTokens, heartbeatMs: opts.sseHeartbeatMs });
  });
  return app;
}


/** The generation service of an app built without one: admission, the step batcher (its batch sizes into `metrics`) and the rest from the options and their defaults. */
function generationService(opts: BuildOptions, metrics: Metrics): GenerationService {
  if (!opts.pipeline) throw new Error('build() needs a pipeline, or a generation service made with one');
  const maxConcurrent = opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
  const maxQueue = opts.maxQueue ?? DEFAULT_MAX_QUEUE;
  const admission = new AdmissionQueue(
    {
      maxConcurrent,
      maxQueue,
      maxPerCaller: opts.maxPerToken ?? defaultMaxPerToken(maxConcurrent, maxQueue, opts.apiTokens.length),
      rate: { perMinute: opts.rateLimitPerMin ?? DEFAULT_RATE_LIMIT_PER_MIN, burst: opts.rateBurst ?? DEFAULT_RATE_BURST },
    },
    opts.clock,
  );
  const policy = batchPolicy({ windowMs: opts.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS, maxBatch: opts.maxBatch ?? DEFAULT_MAX_BATCH }, opts.maxCallsInFlight);
  return new GenerationService({
    manifest: opts.manifest,
    pipeline: opts.pipeline,
    topology: opts.topology,
    admission,
    batcher: new StepBatcher(opts.pipeline, policy, { onSend: metrics.stages.batchSent }),
    inFlight: opts.inFlight,
    drain: opts.drain,
    requestTimeoutMs: opts.requestTimeoutMs ?? 600_000,
    log: opts.log,
    tracePrompts: opts.tracePrompts,
  });
}
