/**
 * End to end with replicas: a layout with two workers for each of the two
 * denoiser shards of cogvideox-tiny (4 blocks), real processes, real NATS.
 * The coordinator learns the replicas from discovery, serves requests, and
 * stays healthy when one replica of a shard stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelPackage, MODELS_DIR } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLayout } from '../src/layout/parse.ts';
import { modelFacts, resolveLayout } from '../src/layout/resolve.ts';
import { startStack, type Stack } from '../src/stack.ts';
import { until } from './helpers/until.ts';

const TOKEN = 'replicas-token-0123456789';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;

const layout = resolveLayout(
  parseLayout(
    {
      'text-encoder': {},
      denoiser: [{ replicas: 2 }, { replicas: 2 }],
      'vae-decoder': {},
      'video-encoder': {},
    },
    'replicas.test',
  ),
  modelFacts(manifest),
  'replicas.test',
);

type InfoWorker = { role: string; shard: number | null; blocks: string | null };

describe('a stack with two replicas of each denoiser shard', () => {
  let stack: Stack;
  let dir: string;

  const denoisers = async (): Promise<string[]> => {
    const info = (await (await fetch(`${stack.url}/info`)).json()) as { workers: InfoWorker[] };
    return info.workers
      .filter((w) => w.role === 'denoiser')
      .map((w) => `denoise.${w.shard} ${w.blocks}`)
      .sort();
  };

  const generate = (): Promise<Response> =>
    fetch(`${stack.url}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a red circle moving left on a blue background', num_frames: 8, num_inference_steps: 2, seed: 5 }),
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-replicas-'));
    stack = await startStack({ modelDir: MODEL_DIR, layout, tokens: [TOKEN], port: 0, logDir: path.join(dir, 'logs'), env: { SPOOL_LOG_LEVEL: 'warn' } });
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('starts two workers per shard, is healthy, lists them and serves a request', async () => {
    expect(stack.labels).toEqual(['text-encoder', 'denoise.0#0', 'denoise.0#1', 'denoise.1#0', 'denoise.1#1', 'vae-decoder', 'video-encoder', 'coordinator']);
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });
    expect(await denoisers()).toEqual(['denoise.0 0:2', 'denoise.0 0:2', 'denoise.1 2:4', 'denoise.1 2:4']);

    const res = await generate();
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('stays healthy and keeps serving when one replica of a shard stops', async () => {
    await stack.stopProcess('denoise.1#0');
    // Wait until the coordinator's own picture has lost the stopped worker.
    await until('the coordinator to see three denoiser workers', async () => ((await denoisers()).length === 3 ? true : undefined));
    expect(await denoisers()).toEqual(['denoise.0 0:2', 'denoise.0 0:2', 'denoise.1 2:4']);
    const health = await fetch(`${stack.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'healthy' });

    const res = await generate();
    expect(res.status, await res.clone().text()).toBe(200);
    await res.arrayBuffer();

    // Started again, it is counted again.
    await stack.startProcess('denoise.1#0');
    await until('the coordinator to see four denoiser workers', async () => ((await denoisers()).length === 4 ? true : undefined));
  });
});
