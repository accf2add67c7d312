/**
 * The coordinator process: config, telemetry, NATS, the app, then listen;
 * then the job store opens and the jobs left unfinished by a stopped
 * coordinator run again. SIGTERM/SIGINT start a drain: new requests get 503
 * with Retry-After, every admitted request (running or queued, jobs
 * included, until their videos are stored) finishes within SPOOL_DRAIN_S
 * (then the rest are aborted, and their jobs stay stored to run again at the
 * next start), and only then does the HTTP server close, NATS drain and
 * spans flush; exit 0. Further signals do not cut the drain short.
 *
 *   node --import tsx coordinator/src/main.ts
 */
import {
  ConfigError,
  connectNats,
  COORDINATOR_IDENTITY,
  createLogger,
  inboxPrefix,
  loadModelPackage,
  ManifestError,
  startTelemetry,
  stopWhenParentExits,
} from '@spool/shared';
import { AdmissionQueue } from './admission/admission-queue.ts';
import { build } from './app.ts';
import { batchPolicy } from './batching/plan.ts';
import { StepBatcher } from './batching/step-batcher.ts';
import { loadConfig } from './config.ts';
import { natsDiscovery } from './discovery.ts';
import { coordinatorError } from './errors.ts';
import { RequestBoard } from './generation/request-board.ts';
import { GenerationService } from './generation/service.ts';
import { CachedSystemInfo } from './http/system-info.ts';
import { JobService } from './jobs/job-service.ts';
import { openJobs } from './jobs/open-jobs.ts';
import { Drain } from './lifecycle/drain.ts';
import { InFlight } from './lifecycle/in-flight.ts';
import { Metrics } from './metrics/metrics.ts';
import { NatsPipeline } from './pipeline/nats-pipeline.ts';
import { DEFAULT_RETRY } from './pipeline/retry.ts';
import { listen } from './server.ts';
import { DiscoveredTopology, snapshotDepth } from './topology.ts';

/** How long connections accepted before the listener closed are still answered (503) at the end of a drain. */
const CLOSE_LINGER_MS = 500;

async function main(): Promise<void> {
  const log = createLogger('spool-coordinator');
  let config;
  let pkg;
  try {
    config = loadConfig(process.env);
    pkg = loadModelPackage(config.modelDir);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ManifestError) {
      log.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { manifest } = pkg;
  const telemetry = startTelemetry('spool-coordinator');
  const nc = await connectNats({
    servers: config.natsUrl,
    name: 'spool-coordinator',
    auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(manifest.name, COORDINATOR_IDENTITY), seed: config.natsSeed },
    tls: config.natsTls,
  });
  if (!config.natsSeed) log.warn('SPOOL_NATS_KEY_FILE is not set: connecting without bus credentials (only a NATS without authorization accepts that)');
  log.info(
    { nats: config.natsUrl, model: manifest.name, blocks: manifest.transformer.blocks.length, max_concurrent: config.maxConcurrent, batch_window_ms: config.batchWindowMs, max_batch: config.maxBatch },
    'connected to NATS',
  );

  // The denoiser's shards and replicas are learned from discovery and checked against the model's blocks.
  // One registry for the process (its CPU, memory and event loop included), fed by the pipeline, the batcher and the app.
  const metrics = new Metrics({ processMetrics: true });
  const topology = new DiscoveredTopology({ discover: natsDiscovery(nc), model: manifest.name, blockCount: manifest.transformer.blocks.length });
  const stopWatching = topology.watch(1_000);
  const inFlight = new InFlight();
  const pipeline = new NatsPipeline({
    nc,
    model: manifest.name,
    stageTimeoutMs: config.stageTimeoutMs,
    lostAfterMs: config.callLostMs,
    frameLimits: config.frameLimits,
    retry: { ...DEFAULT_RETRY, attempts: config.retryAttempts, budgetMs: config.retryBudgetMs },
    topology,
    log,
    observer: metrics.stages,
  });
  const drain = new Drain();
  const admission = new AdmissionQueue({
    maxConcurrent: config.maxConcurrent,
    maxQueue: config.maxQueue,
    maxPerCaller: config.maxPerToken,
    rate: { perMinute: config.rateLimitPerMin, burst: config.rateBurst },
  });
  // One denoiser call per shard and replica keeps every worker busy; more calls would only queue.
  // Follows the live topology (shards × the fewest replicas of a shard).
  const batcher = new StepBatcher(pipeline, batchPolicy({ windowMs: config.batchWindowMs, maxBatch: config.maxBatch }, () => snapshotDepth(topology.latest())), {
    onSend: metrics.stages.batchSent,
  });
  // Every surface that generates (POST /generate, GET /requests) goes through this one lifecycle.
  const generation = new GenerationService({
    manifest,
    pipeline,
    topology,
    admission,
    batcher,
    board: new RequestBoard(),
    inFlight,
    drain,
    requestTimeoutMs: config.requestTimeoutMs,
    log,
    tracePrompts: config.tracePrompts,
  });
  // The jobs of /v1/videos run on the same generation service; their store opens below, when NATS has JetStream.
  const jobs = new JobService({ generation, manifest, log, maxAttempts: config.jobsMaxAttempts });
  const systemInfo = new CachedSystemInfo();
  void systemInfo.usage(); // the first sample is slow; take it before the first /info
  const app = build({ manifest, topology, apiTokens: config.apiTokens, generation, jobs, systemInfo, log, metrics, metricsToken: config.metricsToken });
  if (!config.metricsToken) log.info('GET /metrics needs no token (SPOOL_METRICS_TOKEN is not set): keep the port from the public internet');
  const address = await listen(app, config.host, config.port);
  log.info({ address, model: manifest.name }, `spool coordinator listening on ${address}`);
  // Open the job store and run again the jobs a stopped coordinator left queued or running.
  const stopOpening = new AbortController();
  void openJobs({ nc, jobs, model: manifest.name, limits: config.jobs, log, signal: stopOpening.signal });

  const stop = async (signal: string): Promise<void> => {
    if (!drain.begin()) {
      log.warn({ signal, in_flight: inFlight.size, draining_s: drain.elapsedS() }, `${signal} while draining: still finishing ${inFlight.size} request(s)`);
      return;
    }
    stopOpening.abort();
    const drainMs = config.drainMs;
    log.info({ signal, in_flight: inFlight.size, drain_s: drainMs / 1000 }, `draining: finishing ${inFlight.size} admitted request(s); new ones get 503`);
    if (!(await inFlight.waitIdle(drainMs))) {
      log.warn({ in_flight: inFlight.size }, 'SPOOL_DRAIN_S is over; aborting the requests left');
      inFlight.abortAll(coordinatorError('SPOOL_ERR_SHUTTING_DOWN', 'the coordinator is shutting down and its drain period (SPOOL_DRAIN_S) is over'));
      await inFlight.waitIdle(5_000);
    }
    // Stop accepting first: a client connecting from now on meets a refused connection, and a request
    // already on an accepted connection still gets its 503 before the connections are closed.
    app.server.close();
    await new Promise((resolve) => setTimeout(resolve, CLOSE_LINGER_MS));
    await app.close().catch((err: unknown) => log.warn({ err }, 'closing the HTTP server failed'));
    stopWatching();
    pipeline.close();
    // NATS may be gone already (stopped with everything else): do not wait on it for long.
    await Promise.race([nc.drain(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]).catch(() => undefined);
    await nc.close().catch(() => undefined);
    await telemetry.shutdown();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  stopWhenParentExits(process.env);
}

main().catch((err: unknown) => {
  createLogger('spool-coordinator').fatal({ err }, 'the coordinator failed to start');
  process.exit(1);
});
