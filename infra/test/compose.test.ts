/** The compose file rendered from a layout, and the committed one kept in step with its layout. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { composeServices, renderCompose } from '../src/compose.ts';
import { composeFromFiles } from '../src/compose-file.ts';
import { parseLayout } from '../src/layout/parse.ts';
import { resolveLayout } from '../src/layout/resolve.ts';
import { REPO_ROOT } from '../src/stack.ts';

const mini = { name: 'cogvideox-mini', blockCount: 6 };
const opts = { modelDir: 'models/cogvideox-mini' };

interface Service {
  command: string[];
  environment: Record<string, string>;
  depends_on: string[];
  ports?: string[];
  secrets?: string[];
  build?: { context: string };
  deploy?: { resources: { reservations: { devices: Array<{ driver: string; device_ids: string[]; capabilities: string[] }> } } };
}

const load = (text: string): { services: Record<string, Service>; secrets?: Record<string, { file: string }> } => parse(text, { merge: true });

const resolve = (json: unknown) => resolveLayout(parseLayout(json, 'test.json'), mini, 'test.json');

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
    expect(services.jaeger.ports).toEqual(['16686:16686']);
    expect(services.coordinator.ports).toEqual(['9000:9000']);
    expect(services.coordinator.environment).not.toHaveProperty('SPOOL_SHARDS');
    expect(services['denoise-0'].build?.context).toBe('..');
  });
});

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
      SPOOL_MODEL_DIR: '/app/models/cogvideox-mini',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
  });

  it('takes per-service environment and docker secrets from the caller', () => {
    const layout = resolve({ 'text-encoder': {}, denoiser: [{}], 'vae-decoder': {}, 'video-encoder': {} });
    const text = renderCompose(layout, {
      ...opts,
      secrets: { 'nkey-denoise-0': './keys/denoise-0.nk', 'nkey-coordinator': './keys/coordinator.nk' },
      extend: (s) => (s.name === 'denoise-0' || s.name === 'coordinator' ? { environment: { SPOOL_NATS_NKEY_FILE: `/run/secrets/nkey-${s.name}` }, secrets: [`nkey-${s.name}`] } : {}),
    });
    const { services, secrets } = load(text);
    expect(services['denoise-0'].secrets).toEqual(['nkey-denoise-0']);
    expect(services['denoise-0'].environment.SPOOL_NATS_NKEY_FILE).toBe('/run/secrets/nkey-denoise-0');
    expect(services.coordinator.secrets).toEqual(['nkey-coordinator']);
    expect(services['text-encoder'].secrets).toBeUndefined();
    expect(secrets).toEqual({ 'nkey-denoise-0': { file: './keys/denoise-0.nk' }, 'nkey-coordinator': { file: './keys/coordinator.nk' } });
    // The services as data carry the worker they run.
    expect(composeServices(layout, opts).map((s) => s.worker?.label ?? s.name)).toEqual(['text-encoder', 'denoise.0', 'vae-decoder', 'video-encoder', 'coordinator']);
  });
});
