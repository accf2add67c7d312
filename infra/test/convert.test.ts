/**
 * The converter, end to end, on architecture-exact CogVideoX checkpoints: a
 * 2B-style one (3D sin-cos positions, DDIM) and a 5B-style one (3D RoPE,
 * CogVideoX's DPM sampler with dynamic guidance, sharded weights), each with
 * the published module structure and key names at tiny widths and random
 * weights, in the diffusers folder layout as safetensors. Each is converted by
 * `python3 -m models.convert` (what `npm run convert` runs), its ONNX files are
 * checked against PyTorch in onnxruntime-node (max |Δ| ≤ 1e-4 per stage), and
 * the package is served through the real stack with two denoiser shards:
 * /generate returns an MP4 with the frames and fps asked for.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelPackage, verifyModelFiles } from '@spool/shared';
import { parseLayout } from '../src/layout/parse.ts';
import { modelFacts, resolveLayout } from '../src/layout/resolve.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { probe } from './helpers/media.ts';
import { checkParity, formatParity } from '../../stages/test/helpers/parity.ts';

const run = promisify(execFile);
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ENV = { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const HAS_TOOLS = spawnSync(PYTHON, ['-c', 'import numpy, torch, onnx, sentencepiece'], { stdio: 'ignore', env: ENV }).status === 0;
const SKIP = `skipped: ${PYTHON} cannot import torch, onnx, numpy and sentencepiece (bash infra/bin/bootstrap-python.sh installs them)`;
const TOKEN = 'convert-test-token-0123456789';

const python = (args: string[]) => run(PYTHON, args, { cwd: REPO_ROOT, env: ENV, maxBuffer: 64 * 1024 * 1024 });

describe.each([
  { kind: '2b', sampler: 'cogvideox-ddim', rotary: false },
  { kind: '5b', sampler: 'cogvideox-dpm', rotary: true },
])('a CogVideoX-$kind-style checkpoint, converted and served', ({ kind, sampler, rotary }) => {
  const dir = mkdtempSync(path.join(tmpdir(), `spool-convert-${kind}-`));
  const checkpoint = path.join(dir, 'checkpoint');
  const pkgDir = path.join(dir, `cogvideox-${kind}-test`);
  let stack: Stack | undefined;

  beforeAll(async () => {
    if (!HAS_TOOLS) return;
    await python(['-m', 'models.cogvideox.make_checkpoint', '--kind', kind, '--out', checkpoint]);
    await python(['-m', 'models.convert', '--from', checkpoint, '--out', pkgDir]);
  }, 600_000);

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!HAS_TOOLS)(`writes a package whose manifest says what the model needs${HAS_TOOLS ? '' : ` (${SKIP})`}`, () => {
    const pkg = loadModelPackage(pkgDir);
    verifyModelFiles(pkg);
    const m = pkg.manifest;
    expect(m.name).toBe(`cogvideox-${kind}-test`);
    expect(m.components).toEqual(['text_encoder', 'transformer', 'vae']);
    expect(m.scheduler.type).toBe(sampler);
    expect(m.defaults.use_dynamic_cfg).toBe(rotary);
    expect(m.tokenizer.max_tokens).toBe(226);
    expect(m.transformer.time_embed_dim).toBeDefined();
    expect(m.transformer.time_embed_dim).not.toBe(m.transformer.hidden_size);
    expect(Boolean(m.transformer.rotary)).toBe(rotary);
    expect(m.vae.chunked).toEqual({ next: 'vae_decoder_next.onnx', frame_batch: 2 });
    expect(m.transformer.blocks).toHaveLength(2);
    // The 5B kind's transformer and text encoder come from shards with an index.
    const shards = readdirSync(path.join(checkpoint, 'transformer')).filter((f) => /-of-\d+\.safetensors$/.test(f));
    expect(shards.length > 0).toBe(kind === '5b');
  });

  it.skipIf(!HAS_TOOLS)('passes the package check (hashes, onnx.checker, the interfaces the manifest implies)', async () => {
    const { stdout } = await python(['-m', 'models.package.check', pkgDir]);
    expect(stdout).toMatch(/package OK/);
  });

  it.skipIf(!HAS_TOOLS)('matches PyTorch in onnxruntime-node, stage by stage', async () => {
    const results = await checkParity(pkgDir);
    const files = new Set(results.map((r) => r.file));
    for (const f of ['text_encoder.onnx', 'transformer/embed.onnx', 'transformer/block_00.onnx', 'transformer/block_01.onnx', 'transformer/head.onnx', 'vae_decoder.onnx', 'vae_decoder_next.onnx']) {
      expect(files.has(f), f).toBe(true);
    }
    const worst = new Map<string, number>();
    for (const r of results) worst.set(r.file, Math.max(worst.get(r.file) ?? 0, r.maxDiff));
    console.log(`parity of the converted ${kind} (worst max |onnxruntime - pytorch| per file):\n${[...worst].map(([f, d]) => `  ${f} ${d.toExponential(2)}`).join('\n')}`);
    for (const r of results) expect(r.ok, formatParity(kind, r)).toBe(true);
  });

  it.skipIf(!HAS_TOOLS || kind !== '2b')('converts one part alone, and a worker of another part refuses that package, saying why', async () => {
    const partial = path.join(dir, 'transformer-only');
    await python(['-m', 'models.convert', '--from', checkpoint, '--out', partial, '--components', 'transformer', '--parity', 'none']);
    expect(loadModelPackage(partial).manifest.components).toEqual(['transformer']);
    const worker = spawnSync(process.execPath, ['--import', 'tsx', 'stages/src/main.ts', '--role', 'text-encoder', '--model-dir', partial], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NATS_URL: 'nats://127.0.0.1:9' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(worker.status).toBe(1);
    expect(worker.stdout + worker.stderr).toMatch(/holds only transformer, not the text_encoder a text-encoder worker runs/);
  });

  it.skipIf(!HAS_TOOLS)('serves it through the real stack with two denoiser shards', async () => {
    const manifest = loadModelPackage(pkgDir).manifest;
    const layout = resolveLayout(
      parseLayout({ 'text-encoder': {}, denoiser: [{}, {}], 'vae-decoder': {}, 'video-encoder': {} }, 'convert.test'),
      modelFacts(manifest),
      'convert.test',
    );
    stack = await startStack({ modelDir: pkgDir, layout, tokens: [TOKEN], port: 0, logDir: path.join(dir, 'logs'), env: { SPOOL_LOG_LEVEL: 'warn' } });
    const info = (await (await fetch(`${stack.url}/info`)).json()) as { model: string; workers: Array<{ role: string; blocks: string | null }> };
    expect(info.model).toBe(manifest.name);
    expect(info.workers.filter((w) => w.role === 'denoiser').map((w) => w.blocks).sort()).toEqual(['0:1', '1:2']);
    // 9 frames: 3 latent frames, one chunk; 13 frames: 4 latent frames, two chunks, trimmed to 13.
    for (const [frames, fps] of [
      [9, 8],
      [13, 12],
    ]) {
      const res = await fetch(`${stack.url}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a serene sunset over the ocean', num_frames: frames, fps, num_inference_steps: 3, seed: 7 }),
      });
      const body = new Uint8Array(await res.arrayBuffer());
      expect(res.status, new TextDecoder().decode(body.subarray(0, 300))).toBe(200);
      const file = path.join(dir, `video-${frames}.mp4`);
      writeFileSync(file, body);
      expect(await probe(file)).toEqual({
        codec: 'h264',
        pixFmt: 'yuv420p',
        frames,
        fps: `${fps}/1`,
        width: manifest.video.output_width,
        height: manifest.video.output_height,
      });
    }
  });
});
