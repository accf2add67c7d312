/** The deployment layout, pure: parsing, checking against a model, shorthands, the worker list. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { describeLayout } from '../src/layout/describe.ts';
import { loadLayout, readLayoutFile } from '../src/layout/load.ts';
import { parseLayout } from '../src/layout/parse.ts';
import { resolveLayout } from '../src/layout/resolve.ts';
import { applyShorthands } from '../src/layout/shorthands.ts';
import { workerSpec } from '../src/processes.ts';
import { REPO_ROOT } from '../src/stack.ts';

const SRC = 'test.json';
const mini = { name: 'cogvideox-mini', blockCount: 6 };

/** A complete layout, with `over` merged at the top level. */
const layout = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  'text-encoder': { replicas: 1, device: 'cpu', threads: 1 },
  denoiser: [{}, {}],
  'vae-decoder': {},
  'video-encoder': { replicas: 1 },
  ...over,
});

const resolve = (json: unknown, model = mini) => resolveLayout(parseLayout(json, SRC), model, SRC);
const ranges = (json: unknown, model = mini) => resolve(json, model).shards.map((s) => `${s.blocks.start}:${s.blocks.end}`);

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseLayout', () => {
  it('fills defaults: one worker, on the CPU, one thread', () => {
    const l = parseLayout(layout({ 'vae-decoder': {}, denoiser: [{ blocks: '0:2' }, { blocks: '2:6', replicas: 2, device: ['cuda:0', 'CUDA:1'], threads: 4 }] }), SRC);
    expect(l['vae-decoder']).toEqual({ replicas: 1, device: 'cpu', threads: 1 });
    expect(l.denoiser[1]).toEqual({ replicas: 2, device: ['cuda:0', 'cuda:1'], threads: 4, blocks: { start: 2, end: 6 } });
    expect(l['video-encoder']).toEqual({ replicas: 1 });
    expect(Object.isFrozen(l.denoiser[1])).toBe(true);
  });

  it('reads the shipped layouts', () => {
    for (const file of ['infra/layout.json', 'infra/layouts/two-gpu.json']) {
      const l = readLayoutFile(path.join(REPO_ROOT, file), file);
      expect(l.denoiser).toHaveLength(2);
    }
  });

  it('reads the CogVideoX-5B layout for eight GPUs, which covers its 42 blocks in six shards, one GPU each', () => {
    const file = 'infra/layouts/cogvideox-5b-8gpu.json';
    const r = resolveLayout(readLayoutFile(path.join(REPO_ROOT, file), file), { name: 'cogvideox-5b', blockCount: 42 }, file);
    expect(r.shards.map((s) => `${s.blocks.start}:${s.blocks.end}`)).toEqual(['0:7', '7:14', '14:21', '21:28', '28:35', '35:42']);
    const devices = r.workers.filter((w) => w.role !== 'video-encoder').map((w) => w.device);
    expect(devices).toEqual(['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3', 'cuda:4', 'cuda:5', 'cuda:6', 'cuda:7']);
  });

  // Each refusal names the file, the JSON path and what to do.
  it.each([
    [[], 'test.json: a layout must be a JSON object with the keys text-encoder, denoiser, vae-decoder, video-encoder'],
    [layout({ 'vae-decoder': undefined }), 'test.json: vae-decoder is missing: every stage needs at least one worker; add e.g. "vae-decoder": { "replicas": 1, "device": "cpu", "threads": 1 }'],
    [layout({ denoisr: [{}] }), 'test.json: denoisr is not a layout setting (did you mean "denoiser"?); the top level takes description, text-encoder, denoiser, vae-decoder, video-encoder'],
    [layout({ denoiser: [{}, { block: '3:6' }] }), 'test.json: denoiser[1].block is not a layout setting (did you mean "blocks"?); denoiser[1] takes blocks, replicas, device, threads'],
    [layout({ 'text-encoder': { replica: 2 } }), 'test.json: text-encoder.replica is not a layout setting (did you mean "replicas"?); text-encoder takes replicas, device, threads'],
    [layout({ denoiser: [] }), 'test.json: denoiser must be a non-empty list of shards, e.g. [{ "blocks": "0:3" }, { "blocks": "3:6" }], or [{}, {}] to split the blocks evenly'],
    [layout({ denoiser: { blocks: '0:6' } }), 'test.json: denoiser must be a non-empty list of shards'],
    [layout({ denoiser: [{}, 'x'] }), 'test.json: denoiser[1] must be an object such as { "blocks": "0:3", "replicas": 1, "device": "cpu", "threads": 1 }, or {}'],
    [layout({ 'vae-decoder': 'cpu' }), 'test.json: vae-decoder must be an object such as { "replicas": 1, "device": "cpu", "threads": 1 }'],
    [layout({ denoiser: [{}, { replicas: 0 }] }), 'test.json: denoiser[1].replicas must be an integer from 1 to 64, how many workers serve it (got 0)'],
    [layout({ 'text-encoder': { replicas: 1.5 } }), 'test.json: text-encoder.replicas must be an integer from 1 to 64, how many workers serve it (got 1.5)'],
    [layout({ 'video-encoder': { replicas: '2' } }), 'test.json: video-encoder.replicas must be an integer from 1 to 64, how many workers serve it (got "2")'],
    [layout({ 'vae-decoder': { threads: 0 } }), 'test.json: vae-decoder.threads must be an integer from 1 to 256, the onnxruntime threads of each worker (got 0)'],
    [layout({ 'vae-decoder': { device: 'gpu' } }), 'test.json: vae-decoder.device must be "cpu" or "cuda:N" (e.g. "cuda:0"), or a list with one such device per replica (got "gpu")'],
    [layout({ denoiser: [{ replicas: 2, device: ['cuda:0', 'cuda'] }] }), 'test.json: denoiser[0].device[1] must be "cpu" or "cuda:N" (e.g. "cuda:0"), or a list with one such device per replica (got "cuda")'],
    [layout({ denoiser: [{ replicas: 3, device: ['cuda:0', 'cuda:1'] }] }), 'test.json: denoiser[0].device lists 2 devices but replicas is 3: give one device per replica, or a single device such as "cuda:0" for all of them'],
    [layout({ 'video-encoder': { device: 'cuda:0' } }), 'test.json: video-encoder.device is not a setting of the video encoder (it runs ffmpeg on the CPU); remove "device"'],
    [layout({ 'video-encoder': { replicas: 1, threads: 2 } }), 'test.json: video-encoder.threads is not a setting of the video encoder (it runs ffmpeg on the CPU); remove "threads"'],
    [layout({ denoiser: [{ blocks: 3 }] }), 'test.json: denoiser[0].blocks must be a string "a:b" (first block, one past the last), e.g. "0:3" (got 3)'],
    [layout({ denoiser: [{ blocks: '0-3' }] }), 'test.json: denoiser[0].blocks "0-3" must look like a:b (first block, one past the last), e.g. 0:2'],
    [layout({ denoiser: [{ blocks: '0:3' }, { blocks: '3:3' }] }), 'test.json: denoiser[1].blocks 3:3 is empty: the end must be greater than the start (e.g. 3:4)'],
    [layout({ denoiser: [{ blocks: '0:3' }, {}] }), 'test.json: denoiser[1] has no "blocks" but denoiser[0] has: give every shard its range, or none to split the model\'s blocks evenly'],
    [layout({ description: 7 }), 'test.json: description must be a string'],
  ])('refuses %j', (json, message) => {
    expect(refusal(() => parseLayout(json, SRC))).toContain(message);
  });
});

describe('resolveLayout', () => {
  it('splits blocks evenly when no shard gives a range, earlier shards taking the extra ones', () => {
    expect(ranges(layout())).toEqual(['0:3', '3:6']);
    expect(ranges(layout({ denoiser: [{}, {}, {}, {}] }))).toEqual(['0:2', '2:4', '4:5', '5:6']);
    expect(ranges(layout({ denoiser: [{}] }))).toEqual(['0:6']);
  });

  it('keeps explicit ranges that chain over the whole model', () => {
    expect(ranges(layout({ denoiser: [{ blocks: '0:1' }, { blocks: '1:6' }] }))).toEqual(['0:1', '1:6']);
  });

  it.each([
    [[{}, {}, {}, {}, {}, {}, {}], 'test.json: denoiser has 7 shards but model cogvideox-mini has 6 transformer blocks: every shard needs at least one block, so use 6 shards or fewer'],
    [[{ blocks: '1:3' }, { blocks: '3:6' }], 'test.json: denoiser[0].blocks "1:3" must start at block 0 (the first shard runs the embedding that feeds block 0); e.g. "0:3"'],
    [[{ blocks: '0:3' }, { blocks: '4:6' }], 'test.json: denoiser[1].blocks "4:6" must start at block 3, where denoiser[0] ("0:3") ends: the shards\' blocks must chain with no gap or overlap; e.g. "3:6"'],
    [[{ blocks: '0:3' }, { blocks: '2:6' }], 'test.json: denoiser[1].blocks "2:6" must start at block 3, where denoiser[0] ("0:3") ends'],
    [[{ blocks: '0:3' }, { blocks: '3:5' }], 'test.json: denoiser[1].blocks "3:5" must end at block 6: the last shard runs the model\'s remaining blocks (model cogvideox-mini has 6); e.g. "3:6"'],
    [[{ blocks: '0:7' }, { blocks: '7:8' }], 'test.json: denoiser[0].blocks "0:7" goes past the end of model cogvideox-mini, which has 6 transformer blocks (0:6); e.g. "0:6"'],
  ])('refuses shards %j that do not cover the model', (denoiser, message) => {
    expect(refusal(() => resolve(layout({ denoiser })))).toContain(message);
  });

  it('lists every worker process with its flags, labelling replicas only where a stage has several', () => {
    const r = resolve(
      layout({
        'text-encoder': { device: 'cuda:0', threads: 2 },
        denoiser: [{ device: 'cuda:0' }, { replicas: 2, device: ['cuda:1', 'cuda:2'] }],
        'vae-decoder': { device: 'cuda:1' },
        'video-encoder': { replicas: 2 },
      }),
    );
    expect(r.workers.map((w) => w.label)).toEqual(['text-encoder', 'denoise.0', 'denoise.1#0', 'denoise.1#1', 'vae-decoder', 'video-encoder#0', 'video-encoder#1']);
    expect(r.workers[0]).toEqual({ label: 'text-encoder', stage: 'text-encoder', role: 'text-encoder', device: 'cuda:0', threads: 2, replica: 0, replicas: 1 });
    expect(r.workers[3]).toEqual({
      label: 'denoise.1#1',
      stage: 'denoise.1',
      role: 'denoiser',
      shard: 1,
      shards: 2,
      blocks: { start: 3, end: 6 },
      device: 'cuda:2',
      threads: 1,
      replica: 1,
      replicas: 2,
    });
    expect(r.workers[6]).toEqual({ label: 'video-encoder#1', stage: 'video-encoder', role: 'video-encoder', device: 'cpu', replica: 1, replicas: 2 });
    expect(r.shards).toEqual([
      { shard: 0, stage: 'denoise.0', blocks: { start: 0, end: 3 }, replicas: 1 },
      { shard: 1, stage: 'denoise.1', blocks: { start: 3, end: 6 }, replicas: 2 },
    ]);
    expect(r).toMatchObject({ source: SRC, model: 'cogvideox-mini', blockCount: 6 });
  });
});

describe('shorthands', () => {
  const base = parseLayout(layout({ denoiser: [{ blocks: '0:2', device: 'cuda:0' }, { blocks: '2:6', replicas: 2, device: ['cuda:1', 'cuda:2'], threads: 3 }] }), SRC);

  it('SPOOL_SHARDS replaces the shards with evenly split ones, keeping each position\'s settings', () => {
    const l = applyShorthands(base, { shards: 3 });
    expect(l.denoiser).toEqual([
      { replicas: 1, device: 'cuda:0', threads: 1 },
      { replicas: 2, device: ['cuda:1', 'cuda:2'], threads: 3 },
      { replicas: 2, device: ['cuda:1', 'cuda:2'], threads: 3 },
    ]);
    expect(resolveLayout(l, mini, SRC).shards.map((s) => s.blocks)).toEqual([{ start: 0, end: 2 }, { start: 2, end: 4 }, { start: 4, end: 6 }]);
    expect(applyShorthands(base, { shards: 1 }).denoiser).toEqual([{ replicas: 1, device: 'cuda:0', threads: 1 }]);
  });

  it('SPOOL_REPLICAS runs N workers of every stage and shard, repeating per-replica devices in turn', () => {
    const r = resolveLayout(applyShorthands(base, { replicas: 3 }), mini, SRC);
    for (const stage of ['text-encoder', 'denoise.0', 'denoise.1', 'vae-decoder', 'video-encoder']) {
      expect(r.workers.filter((w) => w.stage === stage).map((w) => w.label)).toEqual([0, 1, 2].map((i) => `${stage}#${i}`));
    }
    expect(r.workers.filter((w) => w.stage === 'denoise.1').map((w) => w.device)).toEqual(['cuda:1', 'cuda:2', 'cuda:1']);
  });

  it('SPOOL_DEVICE and SPOOL_ORT_THREADS set every model worker; the video encoder stays on the CPU', () => {
    const r = resolveLayout(applyShorthands(base, { device: 'cuda:3', threads: 2 }), mini, SRC);
    expect(r.workers.map((w) => `${w.label} ${w.device} ${w.threads ?? '-'}`)).toEqual([
      'text-encoder cuda:3 2',
      'denoise.0 cuda:3 2',
      'denoise.1#0 cuda:3 2',
      'denoise.1#1 cuda:3 2',
      'vae-decoder cuda:3 2',
      'video-encoder cpu -',
    ]);
  });

  it('leaves a layout as it is without shorthands', () => {
    expect(applyShorthands(base, {})).toEqual(base);
  });
});

describe('loadLayout', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-layout-'));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('reads, applies the shorthands and resolves; messages name the file and the shorthands', () => {
    const file = write('ok.json', JSON.stringify(layout()));
    expect(loadLayout({ file, model: mini, shorthands: { replicas: 2 } }).workers).toHaveLength(10);
    expect(refusal(() => loadLayout({ file, model: mini, shorthands: { shards: 8 }, root: dir }))).toBe(
      'ok.json with SPOOL_SHARDS=8: denoiser has 8 shards but model cogvideox-mini has 6 transformer blocks: every shard needs at least one block, so use 6 shards or fewer',
    );
  });

  it('says what to do about a missing file or broken JSON', () => {
    expect(refusal(() => loadLayout({ file: path.join(dir, 'nope.json'), model: mini, root: dir }))).toBe(
      'layout file nope.json does not exist: set SPOOL_LAYOUT to a layout file such as infra/layout.json',
    );
    expect(refusal(() => loadLayout({ file: write('bad.json', '{"denoiser": [{},]}'), model: mini, root: dir }))).toMatch(
      /^bad\.json is not valid JSON \(.+\); a layout is a JSON object, see infra\/layout\.json$/,
    );
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('describeLayout', () => {
  it('says the shards, their ranges and replicas, and the devices', () => {
    expect(describeLayout(resolve(layout()))).toBe('2 denoiser shards (0:3, 3:6), 1 replica each; 1 text-encoder, 1 vae-decoder, 1 video-encoder; 5 workers on cpu');
    expect(describeLayout(resolveLayout(applyShorthands(parseLayout(layout(), SRC), { replicas: 2 }), mini, SRC))).toBe(
      '2 denoiser shards (0:3, 3:6), 2 replicas each; 2 text-encoder, 2 vae-decoder, 2 video-encoder; 10 workers on cpu',
    );
    expect(describeLayout(resolve(layout({ denoiser: [{ device: 'cuda:0' }, { replicas: 2, device: 'cuda:1' }] })))).toBe(
      '2 denoiser shards (0:3 ×1, 3:6 ×2); 1 text-encoder, 1 vae-decoder, 1 video-encoder; 6 workers on cpu, cuda:0, cuda:1',
    );
    expect(describeLayout(resolve(layout({ denoiser: [{}] })))).toBe('1 denoiser shard (0:6), 1 replica; 1 text-encoder, 1 vae-decoder, 1 video-encoder; 4 workers on cpu');
  });
});

describe('worker processes', () => {
  it('start with every flag of their place in the layout', () => {
    const r = resolve(layout({ denoiser: [{ threads: 2 }, { replicas: 2, device: ['cuda:0', 'cuda:1'] }] }));
    const spec = (label: string) => workerSpec(r.workers.find((w) => w.label === label)!, { natsUrl: 'nats://n:4222', modelDir: '/m', env: { A: '1' }, coordinatorEnv: {} });
    expect(spec('denoise.0')).toEqual({
      label: 'denoise.0',
      script: 'stages/src/main.ts',
      args: ['--role', 'denoiser', '--shard', '0', '--shards', '2', '--blocks', '0:3', '--device', 'cpu', '--threads', '2', '--model-dir', '/m'],
      env: { A: '1', NATS_URL: 'nats://n:4222', SPOOL_MODEL_DIR: '/m' },
    });
    expect(spec('denoise.1#1').args).toEqual(['--role', 'denoiser', '--shard', '1', '--shards', '2', '--blocks', '3:6', '--device', 'cuda:1', '--threads', '1', '--model-dir', '/m']);
    expect(spec('text-encoder').args).toEqual(['--role', 'text-encoder', '--device', 'cpu', '--threads', '1', '--model-dir', '/m']);
    expect(spec('video-encoder').args).toEqual(['--role', 'video-encoder', '--device', 'cpu', '--model-dir', '/m']);
  });
});
