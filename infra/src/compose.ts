/**
 * The docker compose file of a deployment, rendered from its resolved
 * layout: NATS (on the compose network only), Jaeger, one service per worker
 * replica started with every flag of its place in the layout, and the
 * coordinator. Pure: a layout in, YAML text out (`npm run compose` writes it).
 *
 * Services are built as data (`ComposeService`) and then rendered, so that a
 * deployment can add per-service environment and docker secrets through
 * `ComposeOptions.extend` without touching the renderer.
 *
 * A worker on `cuda:N` reserves host GPU N alone (`device_ids`); inside its
 * container that GPU is the only one, so the worker runs on `cuda:0` there.
 */
import { formatRange } from '@spool/stages';
import type { ResolvedLayout, WorkerProcess } from './layout/types.ts';
import { workerArgs } from './processes.ts';

export interface ComposeService {
  /** Compose service name: `denoise-0`, `denoise-1-r1`, `coordinator`. */
  readonly name: string;
  /** One line said above the service. */
  readonly comment?: string;
  /** Arguments after the image's entrypoint (`node --import tsx`). */
  readonly command: readonly string[];
  readonly environment: Readonly<Record<string, string>>;
  /** Docker secrets mounted into the service (names declared in `ComposeOptions.secrets`). */
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
  /** Docker secrets, name → file (relative to the compose file). */
  readonly secrets?: Readonly<Record<string, string>>;
}

const API_PORT = 9000;

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
  const workers = layout.workers.map((w): ComposeService => {
    const gpu = /^cuda:(\d+)$/.exec(w.device);
    // Inside the container the reserved GPU is the only one: cuda:0.
    const inContainer = gpu ? { ...w, device: 'cuda:0' } : w;
    return {
      name: serviceName(w),
      comment: describeWorker(w),
      command: ['stages/src/main.ts', ...workerArgs(inContainer)],
      environment: common,
      secrets: [],
      ...(gpu ? { gpu: Number(gpu[1]) } : {}),
      dependsOn: ['nats', 'jaeger'],
      ports: [],
      worker: w,
    };
  });
  const coordinator: ComposeService = {
    name: 'coordinator',
    comment: `the HTTP API on port ${API_PORT}; it learns the shards and replicas from discovery`,
    command: ['coordinator/src/main.ts'],
    environment: {
      ...common,
      SPOOL_PORT: String(API_PORT),
      SPOOL_API_TOKENS: '${SPOOL_API_TOKENS:?set SPOOL_API_TOKENS to a comma-separated list of tokens}',
    },
    secrets: [],
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
  const lines: string[] = [...(opts.header ?? []).map((l) => (l ? `# ${l}` : '#'))];
  lines.push(
    'x-spool: &spool',
    `  build: { context: ${q(root)}, dockerfile: infra/Dockerfile, args: { ORT_CUDA: v12 } }`,
    '  restart: unless-stopped',
    '  # a real init as PID 1: it forwards SIGTERM (processes drain) and reaps ffmpeg',
    '  init: true',
    '',
    'services:',
    '  # NATS listens on the compose network only: nothing outside it can reach the bus.',
    '  nats:',
    '    image: nats:2.10',
    '    command: ["-c", "/etc/nats/nats.conf"]',
    `    volumes: [${q(`${root}/infra/nats.conf:/etc/nats/nats.conf:ro`)}]`,
    '',
    '  # traces: the UI on the host, OTLP on the compose network',
    '  jaeger:',
    '    image: jaegertracing/all-in-one:1.62.0',
    '    environment: { COLLECTOR_OTLP_ENABLED: "true" }',
    '    ports: ["16686:16686"]',
  );
  for (const s of composeServices(layout, opts)) lines.push('', ...renderService(s));
  const secrets = Object.entries(opts.secrets ?? {});
  if (secrets.length > 0) {
    lines.push('', 'secrets:');
    for (const [name, file] of secrets) lines.push(`  ${name}:`, `    file: ${q(file)}`);
  }
  return `${lines.join('\n')}\n`;
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
