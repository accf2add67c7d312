import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { ConfigError, DEFAULT_MODEL, MODELS_DIR } from '@spool/shared';
import { loadConfig, parseBlocks, resolveLayout, splitBlocks } from '../src/index.ts';
import { fakeManifest } from './helpers/model.ts';

const four = () => fakeManifest(4);
const env = { NATS_URL: 'nats://127.0.0.1:4333' };
const load = (argv: string[], e: Record<string, string> = env, blocks = 4) => loadConfig(e, argv, () => fakeManifest(blocks));

describe('splitBlocks', () => {
  it('gives earlier shards the extra blocks', () => {
    expect(splitBlocks(4, 2)).toEqual([{ start: 0, end: 2 }, { start: 2, end: 4 }]);
    expect(splitBlocks(4, 3)).toEqual([{ start: 0, end: 2 }, { start: 2, end: 3 }, { start: 3, end: 4 }]);
    expect(splitBlocks(7, 3)).toEqual([{ start: 0, end: 3 }, { start: 3, end: 5 }, { start: 5, end: 7 }]);
    expect(splitBlocks(4, 1)).toEqual([{ start: 0, end: 4 }]);
  });

  it('refuses more shards than blocks, saying what works', () => {
    expect(() => splitBlocks(4, 5)).toThrow('cannot split 4 transformer blocks into 5 shards: use --shards 4 or fewer');
  });
});

describe('resolveLayout', () => {
  it('puts the embed on shard 0 and the head on the last shard', () => {
    expect(resolveLayout({ shard: 0, shards: 2, blockCount: 4 })).toMatchObject({ blocks: { start: 0, end: 2 }, hasEmbed: true, hasHead: false });
    expect(resolveLayout({ shard: 1, shards: 2, blockCount: 4 })).toMatchObject({ blocks: { start: 2, end: 4 }, hasEmbed: false, hasHead: true });
    expect(resolveLayout({ shard: 0, shards: 1, blockCount: 4 })).toMatchObject({ hasEmbed: true, hasHead: true });
  });

  it('checks explicit block ranges against the chain', () => {
    expect(() => resolveLayout({ shard: 0, shards: 2, blocks: parseBlocks('1:2'), blockCount: 4 })).toThrow(/shard 0 must start at block 0/);
    expect(() => resolveLayout({ shard: 1, shards: 2, blocks: parseBlocks('2:3'), blockCount: 4 })).toThrow(/must end at block 4/);
    expect(() => resolveLayout({ shard: 1, shards: 2, blocks: parseBlocks('2:9'), blockCount: 4 })).toThrow(/outside the model's 4 blocks/);
    expect(resolveLayout({ shard: 1, shards: 3, blocks: parseBlocks('1:3'), blockCount: 4 }).blocks).toEqual({ start: 1, end: 3 });
  });

  it('parses a:b and rejects malformed or empty ranges', () => {
    expect(parseBlocks('0:3')).toEqual({ start: 0, end: 3 });
    expect(() => parseBlocks('3')).toThrow(/must look like a:b/);
    expect(() => parseBlocks('2:2')).toThrow(/is empty/);
  });
});

describe('loadConfig', () => {
  it('reads flags and env with documented defaults, frozen', () => {
    const c = load(['--role', 'denoiser', '--shard', '1', '--shards', '2'], { ...env, SPOOL_ORT_THREADS: '2' });
    expect(c).toMatchObject({ role: 'denoiser', shard: 1, shards: 2, natsUrl: 'nats://127.0.0.1:4333', ortThreads: 2, concurrency: 2 });
    expect(c).toMatchObject({ callTimeoutMs: 60_000, drainGraceMs: 10_000, ffmpegPath: 'ffmpeg', modelName: 'fake-model' });
    expect(c.frameLimits).toMatchObject({ maxTotalBytes: 2048 * 1024 ** 2, setting: 'SPOOL_MAX_FRAME_MB=2048' });
    expect(c.layout).toMatchObject({ blocks: { start: 2, end: 4 }, hasHead: true });
    expect(c.device).toEqual({ kind: 'cpu' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.layout)).toBe(true);
  });

  it('defaults NATS_URL and the model dir, accepts --flag=value and cuda devices', () => {
    const c = loadConfig({}, ['--role=vae-decoder', '--device=cuda:1'], four);
    expect(c.natsUrl).toBe('nats://127.0.0.1:4222');
    expect(c.modelDir).toBe(path.join(MODELS_DIR, DEFAULT_MODEL));
    expect(c.device).toEqual({ kind: 'cuda', index: 1 });
    expect(c.layout).toBeUndefined();
  });

  it('reads the largest frame it accepts from SPOOL_MAX_FRAME_MB, in MiB', () => {
    expect(load(['--role', 'vae-decoder'], { ...env, SPOOL_MAX_FRAME_MB: '16' }).frameLimits).toMatchObject({ maxTotalBytes: 16 * 1024 ** 2, setting: 'SPOOL_MAX_FRAME_MB=16' });
  });

  it('takes onnxruntime threads from --threads over SPOOL_ORT_THREADS', () => {
    expect(load(['--role', 'vae-decoder', '--threads', '3'], { ...env, SPOOL_ORT_THREADS: '2' }).ortThreads).toBe(3);
    expect(load(['--role', 'vae-decoder'], { ...env, SPOOL_ORT_THREADS: '2' }).ortThreads).toBe(2);
    expect(load(['--role', 'vae-decoder']).ortThreads).toBe(1);
  });

  it('explains every impossible setting', () => {
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [[], /--role is required/],
      [['--role', 'decoder'], /--role decoder is not a stage role/],
      [['--role', 'denoiser', '--shard', '2', '--shards', '2'], /--shard 2 is out of range for --shards 2/],
      [['--role', 'denoiser', '--shards', '5'], /cannot split 4 transformer blocks into 5 shards: use --shards 4 or fewer/],
      [['--role', 'denoiser', '--shards', '0'], /--shards "0" must be an integer ≥ 1/],
      [['--role', 'text-encoder', '--shards', '2'], /--shards only applies to --role denoiser/],
      [['--role', 'denoiser', '--device', 'gpu'], /--device "gpu" must be cpu or cuda:N/],
      [['--role', 'denoiser', '--bogus'], /Unknown option '--bogus'/],
      [['--role', 'denoiser'], /SPOOL_ORT_THREADS="zero" must be an integer/, { SPOOL_ORT_THREADS: 'zero' }],
      [['--role', 'denoiser', '--threads', '0'], /--threads "0" must be an integer from 1 to 256/],
      [['--role', 'denoiser', '--threads', 'two'], /--threads "two" must be an integer from 1 to 256/],
      [['--role', 'denoiser'], /NATS_URL=.* must list NATS server URLs/, { NATS_URL: 'http://x y' }],
      [['--role', 'denoiser'], /SPOOL_MAX_FRAME_MB="0" must be an integer from 1 to 4096/, { SPOOL_MAX_FRAME_MB: '0' }],
    ];
    for (const [argv, message, e] of cases) {
      expect(() => load(argv, e ?? env), argv.join(' ')).toThrow(message);
      expect(() => load(argv, e ?? env)).toThrow(ConfigError);
    }
  });
});
