/**
 * The docker compose file of a deployment, rendered from its resolved
 * layout: NATS (on the compose network only), Jaeger, one service per worker
 * replica started with every flag of its place in the layout, and the
 * coordinator. Pure: a layout in, YAML text out (`npm run compose` writes it).
 *
 * The bus is closed, as with `npm start`: NATS reads the `auth.conf` that
 * `npm run credentials` writes (its nats.conf includes it), and each service
 * is given its own identity's key file as a docker secret, and no other.
 * NATS keeps JetStream (the coordinator's jobs) in the named volume
 * `nats-data`, so jobs outlive its container.
 *
 * Services are built as data (`ComposeService`) and then rendered, so that a
 * deployment can add per-service environment and docker secrets through
 * `ComposeOptions.extend` without touching the renderer.
 *
 * A worker on `cuda:N` reserves host GPU N alone (`device_ids`); inside its
 * container that GPU is the only one, so the worker runs on `cuda:0` there.
 */
import { busIdentities, COORDINATOR_IDENTITY, stageIdentity } from '@spool/shared';
import { formatRange } from '@spool/stages';
import type { ResolvedLayout, WorkerProcess } from './layout/types.ts';
import { workerArgs } from './processes.ts';

export interface ComposeService {
  /** Compose service name: `denoise-0`, `denoise-1-r1`, `coordinator`. */
  readonly name: string;
  /** Its bus identity (`denoise-1` for every replica of shard 1); its key file is the secret of that name. */
  readonly identity: string;
  /** One line said above the service. */
  readonly comment?: string;
  /** Arguments after the image's entrypoint (`node --import tsx`). */
  readonly command: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  /** Docker secrets mounted into the service: its identity's key file, and any that `extend` adds (declared in `ComposeOptions.secrets`). */
  readonly secrets: readonly string[];
  /** The host GPU this service reserves. */
  readonly gpu?: number;
  readonly dependsOn: readonly string[];
  readonly ports: readonly string[];
  /** The worker it runs; absent for the coordinator. */
  readonly worker?: WorkerProcess;
}

export interface ComposeOptions {
  /** The model folder relative to the repository (`models/cogvideox-mini`); the layout must be resolved against it. */
  readonly modelDir: string;
  /** The repository root as seen from the compose file's folder (the build context); `..` for `infra/compose.yaml`. */
  readonly root?: string;
  /** Lines for the file's header comment (where it came from, how to remake it). */
  readonly header?: readonly string[];
  /** Additions to one service: more environment, more secrets. */
  readonly extend?: (service: ComposeService) => { readonly environment?: Readonly<Record<string, string>>; readonly secrets?: readonly string[] };
  /** More docker secrets, name → file (relative to the compose file). */
  readonly secrets?: Readonly<Record<string, string>>;
  /**
   * The folder of the bus's key files and `auth.conf` (`npm run credentials -- --out`),
   * relative to the compose file; default `<root>/infra/secrets`.
   */
  readonly secretsDir?: string;
}

const API_PORT = 9000;
/** The named volume of NATS's JetStream store. */
export const NATS_VOLUME = 'nats-data';

/** Where a service finds its key file: docker mounts the secret named after its identity here. */
export function keyFileInContainer(identity: string): string {
  return `/run/secrets/${identity}`;
}

/** The compose service name of a worker: `denoise.1#1` → `denoise-1-r1`. */
export function serviceName(w: WorkerProcess): string {
  return w.label.replace('.', '-').replace('#', '-r');
}

/** The spool services of a layout: its workers, then the coordinator. */
export function composeServices(layout: ResolvedLayout, opts: ComposeOptions): ComposeService[] {
  const common = {
    NATS_URL: 'nats://nats:4222',
    SPOOL_MODEL_DIR: `/app/${opts.modelDir}`,
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  };
  // Each service gets its own identity's key file and no other.
  const keyed = (identity: string): Record<string, string> => {
    const { NATS_URL, ...rest } = common;
    return { NATS_URL, SPOOL_NATS_KEY_FILE: keyFileInContainer(identity), ...rest };
  };
  const workers = layout.workers.map((w): ComposeService => {
    const gpu = /^cuda:(\d+)$/.exec(w.device);
    // Inside the container the reserved GPU is the only one: cuda:0.
    const inContainer = gpu ? { ...w, device: 'cuda:0' } : w;
    const identity = stageIdentity(w.role, w.shard);
    return {
      name: serviceName(w),
      identity,
      comment: describeWorker(w),
      command: ['stages/src/main.ts', ...workerArgs(inContainer)],
      environment: keyed(identity),
      secrets: [identity],
      ...(gpu ? { gpu: Number(gpu[1]) } : {}),
      dependsOn: ['nats', 'jaeger'],
      ports: [],
      worker: w,
    };
  });
  const coordinator: ComposeService = {
    name: 'coordinator',
    identity: COORDINATOR_IDENTITY,
    comment: `the HTTP API on port ${API_PORT}; it learns the shards and replicas from discovery`,
    command: ['coordinator/src/main.ts'],
    environment: {
      ...keyed(COORDINATOR_IDENTITY),
      SPOOL_PORT: String(API_PORT),
      SPOOL_API_TOKENS: '${SPOOL_API_TOKENS:?set SPOOL_API_TOKENS to a comma-separated list of tokens}',
      // GET /metrics is open on the published port unless this is set.
      SPOOL_METRICS_TOKEN: '${SPOOL_METRICS_TOKEN:-}',
    },
    secrets: [COORDINATOR_IDENTITY],
    dependsOn: ['nats', 'jaeger', ...workers.map((s) => s.name)],
    ports: [`${API_PORT}:${API_PORT}`],
  };
  return [...workers, coordinator].map((s) => {
    const more = opts.extend?.(s);
    return more ? { ...s, environment: { ...s.environment, ...more.environment }, secrets: [...s.secrets, ...(more.secrets ?? [])] } : s;
  });
}

export function renderCompose(layout: ResolvedLayout, opts: ComposeOptions): string {
  const root = opts.root ?? '..';
  const secretsDir = opts.secretsDir ?? `${root}/infra/secrets`;
  const services = composeServices(layout, opts);
  const lines: string[] = [...(opts.header ?? []).map((l) => (l ? `# ${l}` : '#'))];
  lines.push(
    'x-spool: &spool',
    `  build: { context: ${q(root)}, dockerfile: infra/Dockerfile, args: { ORT_CUDA: v12 } }`,
    '  restart: unless-stopped',
    '  # a real init as PID 1: it forwards SIGTERM (processes drain) and reaps ffmpeg',
    '  init: true',
    '',
    'services:',
    '  # NATS listens on the compose network only (no port on the host, its monitoring included), and',
    '  # admits only the bus identities of auth.conf, which its nats.conf includes: without that file it',
    `  # does not start. JetStream (job records and finished videos) lives in the volume ${NATS_VOLUME}.`,
    '  nats:',
    '    image: nats:2.10',
    '    command: ["-c", "/etc/nats/nats.conf"]',
    '    volumes:',
    `      - ${readOnlyBind(`${root}/infra/nats.conf`, '/etc/nats/nats.conf')}`,
    `      - ${readOnlyBind(`${secretsDir}/auth.conf`, '/etc/nats/auth.conf')}`,
    `      - { type: volume, source: ${NATS_VOLUME}, target: /data }`,
    '',
    '  # traces: the UI on the host, OTLP on the compose network',
    '  jaeger:',
    '    image: jaegertracing/all-in-one:1.62.0',
    '    environment: { COLLECTOR_OTLP_ENABLED: "true" }',
    '    ports: ["16686:16686"]',
  );
  for (const s of services) lines.push('', ...renderService(s));
  // One secret per identity that a service uses, in request order, then the caller's.
  const used = new Set(services.map((s) => s.identity));
  const keys = busIdentities(layout.shards.length)
    .filter((id) => used.has(id))
    .map((id): [string, string] => [id, `${secretsDir}/${id}.nk`]);
  const secrets = [...keys, ...Object.entries(opts.secrets ?? {})];
  lines.push('', '# The bus key files: npm run credentials writes them, one per identity.', 'secrets:');
  for (const [name, file] of secrets) lines.push(`  ${name}:`, `    file: ${q(file)}`);
  lines.push('', "# JetStream's store (nats.conf: store_dir /data/jetstream): the jobs outlive the nats container.", 'volumes:', `  ${NATS_VOLUME}: {}`);
  return `${lines.join('\n')}\n`;
}

/** A read-only bind mount of one file that must exist (compose must not make a folder in its place). */
function readOnlyBind(source: string, target: string): string {
  return `{ type: bind, source: ${q(source)}, target: ${q(target)}, read_only: true, bind: { create_host_path: false } }`;
}

function renderService(s: ComposeService): string[] {
  const out = [`  ${s.name}:`];
  if (s.comment) out.push(`    # ${s.comment}`);
  out.push('    <<: *spool', `    command: ${flow(s.command)}`, `    depends_on: [${s.dependsOn.join(', ')}]`, '    environment:');
  for (const [k, v] of Object.entries(s.environment)) out.push(`      ${k}: ${q(v)}`);
  if (s.secrets.length > 0) out.push(`    secrets: [${s.secrets.join(', ')}]`);
  if (s.ports.length > 0) out.push(`    ports: ${flow(s.ports)}`);
  if (s.gpu !== undefined) {
    out.push(
      '    deploy:',
      '      resources:',
      '        reservations:',
      `          devices: [{ driver: nvidia, device_ids: [${q(String(s.gpu))}], capabilities: [gpu] }]`,
    );
  }
  return out;
}

function describeWorker(w: WorkerProcess): string {
  const what = w.role === 'denoiser' ? `denoiser shard ${w.shard} of ${w.shards}, blocks ${formatRange(w.blocks!)}` : w.role;
  const replica = w.replicas > 1 ? `, replica ${w.replica + 1} of ${w.replicas}` : '';
  const gpu = /^cuda:(\d+)$/.exec(w.device);
  const where = gpu ? `host GPU ${gpu[1]} (cuda:0 in the container)` : 'the CPU';
  return `${what}${replica}, on ${where}`;
}

/** A double-quoted YAML scalar (JSON strings are valid YAML). */
function q(v: string): string {
  return JSON.stringify(v);
}

function flow(items: readonly string[]): string {
  return `[${items.map(q).join(', ')}]`;
}
