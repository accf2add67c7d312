/**
 * The common worker loop: init → load → warm up → serve → drain → stop.
 * Telemetry starts first; the model is loaded and warmed before the worker
 * registers, so discovery only ever shows workers that can answer. SIGTERM or
 * SIGINT drains (no new calls, calls in flight finish within the grace
 * period), then the NATS connection drains and telemetry flushes.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { EventEmitter } from 'node:events';
import {
  chunksServed,
  connectNats,
  createLogger,
  inboxPrefix,
  stageIdentity,
  upstreamIdentity,
  loadModelPackage,
  serveStage,
  serviceNameFor,
  stageLabel,
  startTelemetry,
  WORKER_METADATA,
  hasComponent,
  type Env,
  type ModelComponent,
  type ModelManifest,
  type StageServer,
} from '@spool/shared';
import type { StageConfig } from '../config.ts';
import { formatRange } from '../layout.ts';
import { deviceLabel } from '../runtime/device.ts';
import type { LoadedRole } from './role.ts';
import { roleLoader } from './roles.ts';
import { workerSpanAttributes } from './span-attributes.ts';
import { WorkerStateMachine } from './state.ts';

type Nats = Awaited<ReturnType<typeof connectNats>>;
type StopReason = { kind: 'signal'; signal: string } | { kind: 'nats-closed'; error?: Error };

/** Runs the worker until it stops; resolves with the process exit code. */
export async function runWorker(config: StageConfig, env: Env, signals: EventEmitter = process): Promise<number> {
  const shard = config.role === 'denoiser' ? config.shard : undefined;
  const serviceName = serviceNameFor(config.role, shard);
  const stage = stageLabel(config.role, shard);
  const telemetry = startTelemetry(serviceName, env);
  const log = createLogger(serviceName, { ...env, SPOOL_LOG_LEVEL: config.logLevel });
  const machine = new WorkerStateMachine((from, to) => log.debug({ from, to }, `state ${to}`));

  let requestStop!: (reason: StopReason) => void;
  const stopRequested = new Promise<StopReason>((resolve) => (requestStop = resolve));
  let stopping: string | undefined;
  const onSignal = (signal: string): void => {
    if (stopping) return log.warn({ signal }, `already stopping (${stopping}); drain is bounded by SPOOL_DRAIN_GRACE_MS`);
    stopping = signal;
    log.info({ signal, state: machine.state }, 'stop requested');
    requestStop({ kind: 'signal', signal });
  };
  signals.on('SIGTERM', onSignal);
  signals.on('SIGINT', onSignal);

  let role: LoadedRole | undefined;
  let nc: Nats | undefined;
  let server: StageServer | undefined;
  let step = 'loading the model';
  try {
    machine.to('loading');
    const pkg = loadModelPackage(config.modelDir);
    requireComponent(pkg.manifest, config.role);
    role = await (await roleLoader(config.role))({ config, pkg, log });
    const loadMs = machine.elapsedSince('loading');
    if (stopping) return await finish('stopped');

    machine.to('warming');
    step = 'warming up';
    await role.warmUp();
    const warmMs = machine.elapsedSince('warming');
    if (stopping) return await finish('stopped');

    step = `connecting to NATS at ${config.natsUrl}`;
    const identity = stageIdentity(config.role, shard);
    nc = await connectNats({
      servers: config.natsUrl,
      name: serviceName,
      auth: { identity, inboxPrefix: inboxPrefix(pkg.manifest.name, identity), seed: config.natsSeed },
      tls: config.natsTls,
    });
    if (!config.natsSeed) log.warn('SPOOL_NATS_KEY_FILE is not set: connecting without bus credentials (only a NATS without authorization accepts that)');
    step = 'registering with NATS';
    const endpoint = role.endpoints[0];
    server = await serveStage({
      nc,
      serviceName,
      version: packageVersion(),
      description: role.description,
      stage,
      metadata: {
        [WORKER_METADATA.model]: pkg.manifest.name,
        [WORKER_METADATA.role]: config.role,
        ...(shard === undefined ? {} : { [WORKER_METADATA.shard]: String(shard), [WORKER_METADATA.shards]: String(config.shards) }),
        [WORKER_METADATA.device]: deviceLabel(config.device),
        [WORKER_METADATA.subject]: endpoint.subject,
        [WORKER_METADATA.pid]: String(process.pid),
        [WORKER_METADATA.host]: hostname(),
        ...role.metadata,
      },
      attributes: workerSpanAttributes(config, pkg.manifest.name, role),
      endpoints: role.endpoints,
      timeoutMs: config.callTimeoutMs,
      concurrency: config.concurrency,
      heartbeatMs: config.heartbeatMs,
      upstream: upstreamOf(config),
      frameLimits: config.frameLimits,
      upstreamInbox: inboxPrefix(pkg.manifest.name, upstreamIdentity(config.role, shard)),
      log,
    });
    machine.to('serving');
    step = 'serving';
    log.info(
      {
        role: config.role,
        shard,
        blocks: config.layout ? formatRange(config.layout.blocks) : undefined,
        device: deviceLabel(config.device),
        subject: endpoint.subject,
        load_ms: loadMs,
        warmup_ms: warmMs,
      },
      'ready',
    );

    const reason = await Promise.race([stopRequested, nc.closed().then((error): StopReason => ({ kind: 'nats-closed', error: error ?? undefined }))]);
    if (reason.kind === 'nats-closed') {
      log.error({ err: reason.error }, 'the NATS connection closed while serving');
      return await finish('failed');
    }
    machine.to('draining');
    step = 'draining';
    const drainStart = Date.now();
    await server.drain(config.drainGraceMs);
    // A large reply is pulled in chunks after the call returned: keep serving them within the grace period.
    await chunksServed(nc, Math.max(0, config.drainGraceMs - (Date.now() - drainStart)));
    await withTimeout(nc.drain(), config.drainGraceMs);
    return await finish('stopped');
  } catch (err) {
    log.error({ err, state: machine.state }, `${stage} failed while ${step}: ${(err as Error).message}`);
    return await finish('failed');
  } finally {
    signals.off('SIGTERM', onSignal);
    signals.off('SIGINT', onSignal);
  }

  async function finish(end: 'stopped' | 'failed'): Promise<number> {
    if (server && machine.state === 'serving') await server.drain(0).catch(() => undefined);
    if (nc && !nc.isClosed()) await nc.close().catch(() => undefined);
    await role?.close().catch(() => undefined);
    if (machine.canMove(end)) machine.to(end);
    log.info({ state: machine.state }, end === 'stopped' ? 'stopped' : 'worker failed');
    await telemetry.shutdown();
    return end === 'stopped' ? 0 : 1;
  }
}

/** The part of the model a role runs. */
const COMPONENT_OF: Readonly<Record<StageConfig['role'], ModelComponent | undefined>> = {
  'text-encoder': 'text_encoder',
  denoiser: 'transformer',
  'vae-decoder': 'vae',
  'video-encoder': undefined,
};

/** Refuses, saying what to do, a role whose part this package does not hold (it was converted with --components). */
function requireComponent(manifest: ModelManifest, role: StageConfig['role']): void {
  const part = COMPONENT_OF[role];
  if (!part || hasComponent(manifest, part)) return;
  throw new Error(
    `the package ${manifest.name} holds only ${(manifest.components ?? []).join(', ')}, not the ${part} a ${role} worker runs: ` +
      `point SPOOL_MODEL_DIR at a package with it (npm run convert -- --components ${part} …)`,
  );
}

/** Who sends this worker its frames. */
function upstreamOf(config: StageConfig): string {
  if (config.role === 'denoiser' && config.shard > 0) return stageLabel('denoiser', config.shard - 1);
  if (config.role === 'video-encoder') return stageLabel('vae-decoder');
  return 'the coordinator';
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

async function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
