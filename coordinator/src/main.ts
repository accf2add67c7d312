/**
 * The coordinator process: config, telemetry, NATS, the app, then listen.
 * SIGTERM/SIGINT stop accepting, let requests in flight finish within
 * SPOOL_SHUTDOWN_GRACE_MS (then abort them), close NATS, flush spans, exit 0.
 *
 *   node --import tsx coordinator/src/main.ts
 */
import {
  ConfigError,
  connectNats,
  createLogger,
  loadModelPackage,
  ManifestError,
  startTelemetry,
  stopWhenParentExits,
} from '@spool/shared';
import { build } from './app.ts';
import { checkLayout, loadConfig } from './config.ts';
import { natsDiscovery } from './discovery.ts';
import { coordinatorError } from './errors.ts';
import { InFlight } from './http/in-flight.ts';
import { CachedSystemInfo } from './http/system-info.ts';
import { NatsPipeline } from './pipeline/nats-pipeline.ts';
import { listen } from './server.ts';
import { DiscoveredTopology } from './topology.ts';

async function main(): Promise<void> {
  const log = createLogger('spool-coordinator');
  let config;
  let pkg;
  try {
    config = loadConfig(process.env);
    pkg = loadModelPackage(config.modelDir);
    checkLayout(config, pkg.manifest);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ManifestError) {
      log.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { manifest } = pkg;
  const telemetry = startTelemetry('spool-coordinator');
  const nc = await connectNats(config.natsUrl, 'spool-coordinator', true);
  log.info(
    { nats: config.natsUrl, model: manifest.name, shards: config.shards, max_concurrent: config.maxConcurrent, batch_window_ms: config.batchWindowMs, max_batch: config.maxBatch },
    'connected to NATS',
  );

  const topology = new DiscoveredTopology({ discover: natsDiscovery(nc), model: manifest.name, shards: config.shards });
  const stopWatching = topology.watch(1_000);
  const inFlight = new InFlight();
  const systemInfo = new CachedSystemInfo();
  void systemInfo.usage(); // the first sample is slow; take it before the first /info
  const app = build({
    manifest,
    pipeline: new NatsPipeline({ nc, model: manifest.name, shards: config.shards, stageTimeoutMs: config.stageTimeoutMs, topology }),
    topology,
    apiTokens: config.apiTokens,
    maxConcurrent: config.maxConcurrent,
    maxQueue: config.maxQueue,
    maxPerToken: config.maxPerToken,
    rateLimitPerMin: config.rateLimitPerMin,
    rateBurst: config.rateBurst,
    batchWindowMs: config.batchWindowMs,
    maxBatch: config.maxBatch,
    // One denoiser call per shard keeps every shard busy; more calls would only queue.
    maxCallsInFlight: config.shards,
    requestTimeoutMs: config.requestTimeoutMs,
    inFlight,
    systemInfo,
    log,
  });
  const address = await listen(app, config.host, config.port);
  log.info({ address, model: manifest.name }, `spool coordinator listening on ${address}`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const graceMs = config.shutdownGraceMs;
    log.info({ signal, in_flight: inFlight.size, grace_ms: graceMs }, 'shutting down');
    // New requests get 503 from here on; those in flight get the grace period.
    const closed = app.close();
    if (!(await inFlight.waitIdle(graceMs))) {
      log.warn({ in_flight: inFlight.size }, 'grace period over; aborting requests in flight');
      inFlight.abortAll(coordinatorError('SPOOL_ERR_SHUTTING_DOWN', 'the coordinator is shutting down'));
    }
    await closed.catch((err: unknown) => log.warn({ err }, 'closing the HTTP server failed'));
    stopWatching();
    await nc.drain().catch(() => nc.close());
    await telemetry.shutdown();
    log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  stopWhenParentExits(process.env);
}

main().catch((err: unknown) => {
  createLogger('spool-coordinator').fatal({ err }, 'the coordinator failed to start');
  process.exit(1);
});
