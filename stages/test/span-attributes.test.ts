/**
 * A worker's span attributes come from its configuration and its loaded role
 * (a real denoiser shard of cogvideox-tiny here), never from a message.
 */
import path from 'node:path';
import { createLogger, loadModelPackage, MODELS_DIR } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { loadConfig, workerSpanAttributes } from '../src/index.ts';
import { loadDenoiserRole } from '../src/denoiser/role.ts';
import { loadVideoEncoderRole } from '../src/video-encoder/role.ts';

const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const pkg = loadModelPackage(MODEL_DIR);
const log = createLogger('test', { SPOOL_LOG_LEVEL: 'silent' });
const env = { NATS_URL: 'nats://127.0.0.1:4222' };

describe('workerSpanAttributes', () => {
  it('gives a denoiser shard its model, role, stage, shard, blocks, device and threads', async () => {
    const config = loadConfig(env, ['--role', 'denoiser', '--shard', '1', '--shards', '2', '--device', 'cpu', '--threads', '2', '--model-dir', MODEL_DIR]);
    const role = await loadDenoiserRole({ config, pkg, log });
    try {
      const blocks = pkg.manifest.transformer.blocks.length;
      const first = Math.ceil(blocks / 2);
      expect(workerSpanAttributes(config, pkg.manifest.name, role)).toEqual({
        'spool.model': 'cogvideox-tiny',
        'spool.role': 'denoiser',
        'spool.stage': 'denoise.1',
        'spool.shard': 1,
        'spool.shards': 2,
        'spool.blocks': `${first}:${blocks}`,
        'spool.block_count': blocks - first,
        'spool.device': 'cpu',
        'spool.threads': 2,
      });
    } finally {
      await role.close();
    }
  });

  it('gives a video encoder no shard and no onnxruntime threads', async () => {
    const config = loadConfig(env, ['--role', 'video-encoder', '--model-dir', MODEL_DIR]);
    const role = await loadVideoEncoderRole({ config, pkg, log });
    expect(workerSpanAttributes(config, pkg.manifest.name, role)).toEqual({
      'spool.model': 'cogvideox-tiny',
      'spool.role': 'video-encoder',
      'spool.stage': 'video-encoder',
      'spool.device': 'cpu',
    });
  });
});
