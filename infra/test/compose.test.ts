/**
 * The compose file rendered from a layout, and the committed one kept in step
 * with its layout; its closed bus (one key file per service, as a docker
 * secret of its own identity), and the nats.conf it mounts, read by the real
 * nats-server: closed, with JetStream for the coordinator's jobs in a volume.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JobStore, newJobId, readJobStoreLimits } from '@spool/coordinator';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  busIdentities,
  connectNats,
  COORDINATOR_IDENTITY,
  createBusCredentials,
  inboxPrefix,
  LAUNCHER_IDENTITY,
  stageIdentity,
  writeBusCredentials,
  type StageRole,
} from '@spool/shared';
import { composeServices, renderCompose } from '../src/compose.ts';
import { composeFromFiles } from '../src/compose-file.ts';
import { parseLayout } from '../src/layout/parse.ts';
import { resolveLayout } from '../src/layout/resolve.ts';
import { natsServerBinary } from '../src/nats-server.ts';
import { freePort, waitForPort } from '../src/net.ts';
import { REPO_ROOT } from '../src/stack.ts';

const mini = { name: 'cogvideox-mini', blockCount: 6 };
const opts = { modelDir: 'models/cogvideox-mini' };

interface Service {
  image?: string;
  command: string[];
  environment: Record<string, string>;
  depends_on: string[];
  ports?: string[];
  secrets?: string[];
  build?: { context: string };
  volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean }>;
  deploy?: { resources: { reservations: { devices: Array<{ driver: string; device_ids: string[]; capabilities: string[] }> } } };
}

const load = (text: string): { services: Record<string, Service>; secrets?: Record<string, { file: string }>; volumes?: Record<string, unknown> } =>
  parse(text, { merge: true });

const resolve = (json: unknown) => resolveLayout(parseLayout(json, 'test.json'), mini, 'test.json');

/** The bus identity a spool service must have, read from the command it runs (not from the renderer's data). */
function identityFromCommand(command: string[]): string {
  if (command[0] === 'coordinator/src/main.ts') return COORDINATOR_IDENTITY;
  const flag = (name: string): string | undefined => (command.includes(name) ? command[command.indexOf(name) + 1] : undefined);
  const shard = flag('--shard');
  return stageIdentity(flag('--role') as StageRole, shard === undefined ? undefined : Number(shard));
}

/**
 * Every spool service is given exactly its own identity's key file: the secret
 * named after the identity, that file as SPOOL_NATS_KEY_FILE, and nothing of
 * any other identity; only the coordinator sees the API tokens.
 */
function expectOwnKeysOnly(file: { services: Record<string, Service>; secrets?: Record<string, { file: string }> }, secretsDir: string): void {
  const spool = Object.entries(file.services).filter(([name]) => name !== 'nats' && name !== 'jaeger');
  expect(spool.length).toBeGreaterThan(0);
  const used = new Set<string>();
  for (const [name, s] of spool) {
    const identity = identityFromCommand(s.command);
    used.add(identity);
    expect(s.secrets, name).toEqual([identity]);
    expect(s.environment.SPOOL_NATS_KEY_FILE, name).toBe(`/run/secrets/${identity}`);
    expect(Object.keys(s.environment).filter((k) => k.includes('KEY') || k.includes('CREDENTIALS')), name).toEqual(['SPOOL_NATS_KEY_FILE']);
    expect('SPOOL_API_TOKENS' in s.environment, name).toBe(identity === COORDINATOR_IDENTITY);
    expect('SPOOL_METRICS_TOKEN' in s.environment, name).toBe(identity === COORDINATOR_IDENTITY);
  }
  for (const name of ['nats', 'jaeger']) expect(file.services[name].secrets, name).toBeUndefined();
  // One secret per identity in use, each its own key file; the launcher's key is not in a compose deployment.
  expect(file.secrets).toEqual(Object.fromEntries([...used].map((id) => [id, { file: `${secretsDir}/${id}.nk` }])));
  expect(used.has(LAUNCHER_IDENTITY)).toBe(false);
}

describe('infra/compose.yaml', () => {
  it('is exactly what npm run compose makes from infra/layouts/two-gpu.json', () => {
    const committed = readFileSync(path.join(REPO_ROOT, 'infra/compose.yaml'), 'utf8');
    const made = composeFromFiles({
      layout: path.join(REPO_ROOT, 'infra/layouts/two-gpu.json'),
      model: path.join(REPO_ROOT, 'models/cogvideox-mini'),
      out: path.join(REPO_ROOT, 'infra/compose.yaml'),
    });
    expect(committed, 'infra/compose.yaml is out of date: npm run compose -- --layout infra/layouts/two-gpu.json --out infra/compose.yaml').toBe(made);
  });

  it('runs the two-GPU layout: each worker pinned to its GPU, NATS unpublished', () => {
    const { services } = load(readFileSync(path.join(REPO_ROOT, 'infra/compose.yaml'), 'utf8'));
    expect(Object.keys(services)).toEqual(['nats', 'jaeger', 'text-encoder', 'denoise-0', 'denoise-1', 'vae-decoder', 'video-encoder', 'coordinator']);
    const gpuOf = (name: string) => services[name].deploy?.resources.reservations.devices[0].device_ids;
    expect(['text-encoder', 'denoise-0', 'denoise-1', 'vae-decoder', 'video-encoder'].map(gpuOf)).toEqual([['0'], ['0'], ['1'], ['1'], undefined]);
    expect(services['denoise-1'].command).toEqual(['stages/src/main.ts', '--role', 'denoiser', '--shard', '1', '--shards', '2', '--blocks', '3:6', '--device', 'cuda:0', '--threads', '1']);
    expect(services['video-encoder'].command).toEqual(['stages/src/main.ts', '--role', 'video-encoder', '--device', 'cpu']);
    expect(services.nats.ports).toBeUndefined();
    expect(services.nats).not.toHaveProperty('expose');
    expect(services.jaeger.ports).toEqual(['16686:16686']);
    expect(services.coordinator.ports).toEqual(['9000:9000']);
    expect(services.coordinator.environment).not.toHaveProperty('SPOOL_SHARDS');
    expect(services['denoise-0'].build?.context).toBe('..');
  });

  it('closes the bus: NATS reads auth.conf from infra/secrets, each service gets its own key file and no other', () => {
    const file = load(readFileSync(path.join(REPO_ROOT, 'infra/compose.yaml'), 'utf8'));
    expect(file.services.nats.volumes).toEqual([
      { type: 'bind', source: '../infra/nats.conf', target: '/etc/nats/nats.conf', read_only: true, bind: { create_host_path: false } },
      { type: 'bind', source: '../infra/secrets/auth.conf', target: '/etc/nats/auth.conf', read_only: true, bind: { create_host_path: false } },
      { type: 'volume', source: 'nats-data', target: '/data' },
    ]);
    // nats.conf keeps JetStream under /data: the named volume, which outlives the container.
    expect(file.volumes).toEqual({ 'nats-data': {} });
    expect(readFileSync(path.join(REPO_ROOT, 'infra/nats.conf'), 'utf8')).toMatch(/store_dir: "\/data\/jetstream"/);
    expectOwnKeysOnly(file, '../infra/secrets');
    expect(Object.keys(file.secrets ?? {})).toEqual(['coordinator', 'text-encoder', 'denoise-0', 'denoise-1', 'vae-decoder', 'video-encoder']);
  });
});

describe('infra/nats.conf, as the nats service reads it', () => {
  const dirs: string[] = [];
  /** A folder with the committed nats.conf, its JetStream store moved from the container's /data into the folder. */
  const folder = (): string => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-natsconf-'));
    dirs.push(dir);
    const conf = readFileSync(path.join(REPO_ROOT, 'infra/nats.conf'), 'utf8');
    const storeDir = 'store_dir: "/data/jetstream"';
    expect(conf).toContain(storeDir);
    writeFileSync(path.join(dir, 'nats.conf'), conf.replace(storeDir, `store_dir: ${JSON.stringify(path.join(dir, 'jetstream'))}`));
    return dir;
  };
  /** `nats-server -t`: parses the configuration, includes and all, and says whether it is valid. */
  const check = (dir: string): { status: number | null; output: string } => {
    const r = spawnSync(natsServerBinary(), ['-t', '-c', path.join(dir, 'nats.conf')], { encoding: 'utf8', timeout: 10_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  };
  const creds = createBusCredentials(busIdentities(2), { model: mini.name, shards: 2 });

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid configuration with a generated auth.conf next to it', () => {
    const dir = folder();
    writeBusCredentials(dir, creds);
    const r = check(dir);
    expect(r.output).toContain('is valid');
    expect(r.status).toBe(0);
  });

  it('is refused without auth.conf, so NATS never runs open', () => {
    const r = check(folder());
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/auth\.conf/);
    expect(r.output).not.toContain('is valid');
  });

  it('runs closed: a client without a key is refused, an identity of auth.conf connects', async () => {
    const dir = folder();
    writeBusCredentials(dir, creds);
    // The committed file as is; only where it listens moves to free loopback ports (and its store, to the folder).
    const server = await startFromFile(path.join(dir, 'nats.conf'));
    try {
      await expect(connectNats({ servers: server.url, name: 'anonymous', waitOnFirstConnect: false })).rejects.toThrow(/Authorization Violation/i);
      const seed = creds.keys.find((k) => k.identity === COORDINATOR_IDENTITY)!.seed;
      const nc = await connectNats({
        servers: server.url,
        name: 'coordinator',
        waitOnFirstConnect: false,
        auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(mini.name, COORDINATOR_IDENTITY), seed },
      });
      expect(nc.info?.max_payload).toBe(64 * 1024 * 1024);
      await nc.close();
    } finally {
      await server.stop();
    }
  });

  it("runs JetStream with room for the coordinator's job buckets at their default limits", async () => {
    const dir = folder();
    writeBusCredentials(dir, creds);
    const server = await startFromFile(path.join(dir, 'nats.conf'));
    try {
      const seed = creds.keys.find((k) => k.identity === COORDINATOR_IDENTITY)!.seed;
      const nc = await connectNats({
        servers: server.url,
        name: 'coordinator',
        waitOnFirstConnect: false,
        auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(mini.name, COORDINATOR_IDENTITY), seed },
      });
      const silent = { info: () => undefined, warn: () => undefined };
      const store = await JobStore.open(nc, { model: mini.name, limits: readJobStoreLimits({}), log: silent });
      const id = newJobId();
      await store.putVideo('token-0', id, Uint8Array.of(1, 2, 3));
      expect((await store.videoInfo('token-0', id))?.bytes).toBe(3);
      expect(await store.usage()).toMatchObject({ videos: { maxBytes: 1024 * 1024 * 1024 }, records: { maxBytes: 64 * 1024 * 1024 } });
      await nc.close();
    } finally {
      await server.stop();
    }
  });
});

/** nats-server started from a configuration file, on free loopback ports (client and monitoring). */
async function startFromFile(conf: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const monitor = await freePort();
  const child = spawn(natsServerBinary(), ['-c', conf, '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor)], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([waitForPort('127.0.0.1', port, 15_000), exited.then(() => Promise.reject(new Error(`nats-server exited: ${conf} did not start`)))]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('renderCompose', () => {
  it('renders one service per worker replica, with per-replica devices and GPU reservations', () => {
    const layout = resolve({
      'text-encoder': { device: 'cpu' },
      denoiser: [{ blocks: '0:2' }, { blocks: '2:6', replicas: 2, device: ['cuda:2', 'cuda:3'], threads: 4 }],
      'vae-decoder': { replicas: 2, device: 'cuda:1' },
      'video-encoder': { replicas: 2 },
    });
    const { services } = load(renderCompose(layout, opts));
    expect(Object.keys(services)).toEqual([
      'nats',
      'jaeger',
      'text-encoder',
      'denoise-0',
      'denoise-1-r0',
      'denoise-1-r1',
      'vae-decoder-r0',
      'vae-decoder-r1',
      'video-encoder-r0',
      'video-encoder-r1',
      'coordinator',
    ]);
    expect(services['denoise-1-r1'].command).toEqual(['stages/src/main.ts', '--role', 'denoiser', '--shard', '1', '--shards', '2', '--blocks', '2:6', '--device', 'cuda:0', '--threads', '4']);
    expect(services['denoise-1-r1'].deploy?.resources.reservations.devices).toEqual([{ driver: 'nvidia', device_ids: ['3'], capabilities: ['gpu'] }]);
    expect(services['denoise-0'].command).toContain('cpu');
    expect(services['denoise-0'].deploy).toBeUndefined();
    expect(services.coordinator.depends_on).toEqual(['nats', 'jaeger', 'text-encoder', 'denoise-0', 'denoise-1-r0', 'denoise-1-r1', 'vae-decoder-r0', 'vae-decoder-r1', 'video-encoder-r0', 'video-encoder-r1']);
    expect(services['vae-decoder-r1'].environment).toEqual({
      NATS_URL: 'nats://nats:4222',
      SPOOL_NATS_KEY_FILE: '/run/secrets/vae-decoder',
      SPOOL_MODEL_DIR: '/app/models/cogvideox-mini',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
  });

  it('gives replicas of a stage their one shared identity, and every service only its own key', () => {
    const layout = resolve({
      'text-encoder': { replicas: 2 },
      denoiser: [{ replicas: 3 }, {}, { replicas: 2, device: ['cuda:0', 'cuda:1'] }],
      'vae-decoder': {},
      'video-encoder': { replicas: 2 },
    });
    const file = load(renderCompose(layout, { ...opts, secretsDir: './keys' }));
    expectOwnKeysOnly(file, './keys');
    expect(file.services['denoise-0-r2'].secrets).toEqual(['denoise-0']);
    expect(file.services['denoise-2-r1'].secrets).toEqual(['denoise-2']);
    expect(file.services['video-encoder-r1'].secrets).toEqual(['video-encoder']);
    expect(file.services.nats.volumes?.map((v) => v.source)).toEqual(['../infra/nats.conf', './keys/auth.conf', 'nats-data']);
  });

  it('takes per-service environment and docker secrets from the caller', () => {
    const layout = resolve({ 'text-encoder': {}, denoiser: [{}], 'vae-decoder': {}, 'video-encoder': {} });
    const text = renderCompose(layout, {
      ...opts,
      secrets: { 'nkey-denoise-0': './keys/denoise-0.nk', 'nkey-coordinator': './keys/coordinator.nk' },
      extend: (s) => (s.name === 'denoise-0' || s.name === 'coordinator' ? { environment: { SPOOL_NATS_NKEY_FILE: `/run/secrets/nkey-${s.name}` }, secrets: [`nkey-${s.name}`] } : {}),
    });
    const { services, secrets } = load(text);
    expect(services['denoise-0'].secrets).toEqual(['denoise-0', 'nkey-denoise-0']);
    expect(services['denoise-0'].environment.SPOOL_NATS_NKEY_FILE).toBe('/run/secrets/nkey-denoise-0');
    expect(services.coordinator.secrets).toEqual(['coordinator', 'nkey-coordinator']);
    expect(services['text-encoder'].secrets).toEqual(['text-encoder']);
    expect(secrets).toMatchObject({ 'nkey-denoise-0': { file: './keys/denoise-0.nk' }, 'nkey-coordinator': { file: './keys/coordinator.nk' } });
    expect(Object.keys(secrets ?? {})).toEqual(['coordinator', 'text-encoder', 'denoise-0', 'vae-decoder', 'video-encoder', 'nkey-denoise-0', 'nkey-coordinator']);
    // The services as data carry the worker they run.
    expect(composeServices(layout, opts).map((s) => s.worker?.label ?? s.name)).toEqual(['text-encoder', 'denoise.0', 'vae-decoder', 'video-encoder', 'coordinator']);
  });
});
