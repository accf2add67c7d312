/**
 * The real CogVideoX VAE decoder (tiny, architecture-exact, random weights),
 * exported by the Python tooling into a scratch directory and decoded by the
 * worker's chunk loop in onnxruntime-node: the frames must be PyTorch's decode
 * of the same latents (max |Δ| ≤ 1e-4) for 9, 13 and 49 frames' worth of
 * latents (3, 4 and 13 latent frames; also 1). Needs /usr/bin/python3 with
 * torch and onnx; skipped without them, as a serving-only machine has neither.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MODELS_DIR, tensor, type ModelManifest, type ModelPackage, type Tensor } from '@spool/shared';
import { OnnxModel, toUint8Frames, VaeDecoderModel, vaeDecoderHandler } from '../src/index.ts';
import { readParity, tinyPackage, toTensor } from './helpers/model.ts';

const run = promisify(execFile);
const REPO_ROOT = path.dirname(MODELS_DIR);
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const ENV = { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const HAS_TOOLS = spawnSync(PYTHON, ['-c', 'import numpy, torch, onnx'], { stdio: 'ignore', env: ENV }).status === 0;
const SKIP = HAS_TOOLS ? '' : ` (skipped: ${PYTHON} cannot import numpy, torch and onnx; install python3-torch and python3-onnx to run it)`;
const LATENT_FRAMES = [1, 3, 4, 13];
const opts = { device: { kind: 'cpu' }, threads: 2 } as const;

interface Reference {
  scaling_factor: number;
  frame_batch: number;
  cases: { latent_frames: number; latents: string; latents_shape: number[]; frames: string; frames_shape: number[] }[];
}
interface Exported {
  vae: ModelManifest['vae'];
  latent: ModelManifest['latent'];
  files: string[];
  video: { height: number; width: number };
}

let scratch: string;

async function exportVae(name: string, extra: string[]): Promise<string> {
  const out = path.join(scratch, name);
  const args = ['-m', 'models.cogvideox.vae_export', '--config', 'tiny', '--out', out, '--seed', '0', ...extra];
  await run(PYTHON, args, { cwd: REPO_ROOT, env: ENV, maxBuffer: 64 * 1024 * 1024 });
  return out;
}

/** A package around the exported graphs: the tiny package's manifest with the VAE's own fields. */
function vaePackage(dir: string): ModelPackage {
  const e = JSON.parse(readFileSync(path.join(dir, 'vae.json'), 'utf8')) as Exported;
  const base = tinyPackage().manifest;
  const manifest: ModelManifest = { ...base, vae: e.vae, latent: e.latent, video: { ...base.video, ...e.video } };
  return { dir, manifest, resolve: (rel: string) => path.join(dir, rel) };
}

function readF32(file: string, shape: number[]): Tensor<'float32'> {
  const bytes = readFileSync(file);
  return tensor('float32', shape, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
}

function maxDiff(a: Tensor<'float32'>, b: Tensor<'float32'>): number {
  expect(a.shape).toEqual(b.shape);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

describe.skipIf(!HAS_TOOLS)(`chunked CogVideoX VAE decode in onnxruntime-node${SKIP}`, () => {
  let fp32: string;
  let reference: Reference;
  const report: string[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'spool-vae-'));
    fp32 = await exportVae('fp32', ['--parity', '--reference', LATENT_FRAMES.join(','), '--reference-batch', '2']);
    reference = JSON.parse(readFileSync(path.join(fp32, 'reference', 'reference.json'), 'utf8')) as Reference;
  }, 180_000);
  afterAll(() => {
    if (report.length) console.log(`chunked VAE decode, max |onnxruntime − pytorch|:\n${report.join('\n')}`);
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  const load = (dir: string) => VaeDecoderModel.load(vaePackage(dir), opts);
  const caseOf = (dir: string, f: number) => {
    const c = reference.cases.find((x) => x.latent_frames === f)!;
    return {
      latents: readF32(path.join(dir, 'reference', c.latents), c.latents_shape),
      frames: readF32(path.join(dir, 'reference', c.frames), c.frames_shape),
    };
  };

  it('writes the manifest fields and both graphs', () => {
    const m = vaePackage(fp32).manifest;
    expect(m.vae).toEqual({ decoder: 'vae_decoder.onnx', scaling_factor: 1.15258426, chunked: { next: 'vae_decoder_next.onnx', frame_batch: 2 } });
    expect(m.latent).toEqual({ channels: 16, temporal_compression: 4, spatial_compression: 8 });
    expect(reference.frame_batch).toBe(2);
  });

  it.each(LATENT_FRAMES)('decodes %i latent frames chunk by chunk as PyTorch decodes them whole', async (f) => {
    const vae = await load(fp32);
    try {
      const { latents, frames } = caseOf(fp32, f);
      const got = await vae.decode(latents);
      // 4(F−1)+1 frames for odd F, 4F for even F (the first chunk of 2 latent frames is even)
      expect(got.shape).toEqual([2, f % 2 === 1 ? 4 * (f - 1) + 1 : 4 * f, 3, 32, 48]);
      const d = maxDiff(got, frames);
      report.push(`  ${f} latent frames → ${got.shape[1]} frames: ${d.toExponential(2)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
    } finally {
      await vae.close();
    }
  });

  it('holds its parity fixture for both graphs', async () => {
    const parity = readParity(fp32);
    expect(Object.keys(parity.files)).toEqual(['vae_decoder.onnx', 'vae_decoder_next.onnx']);
    for (const [file, fixture] of Object.entries(parity.files)) {
      const model = await OnnxModel.load(path.join(fp32, file), opts, file);
      try {
        const out = await model.run(Object.fromEntries(Object.entries(fixture.inputs).map(([n, e]) => [n, toTensor(e)])));
        let worst = 0;
        for (const [name, exp] of Object.entries(fixture.outputs)) {
          const got = out[name].data as Float32Array;
          expect(out[name].shape, `${file}:${name}`).toEqual(exp.shape);
          const ref = exp.data ?? exp.data_prefix!;
          for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
          if (exp.sum !== undefined) expect(Math.abs(got.reduce((a, v) => a + v, 0) - exp.sum)).toBeLessThanOrEqual(1e-4 * exp.abs_sum!);
        }
        report.push(`  parity ${file} (${Object.keys(fixture.outputs).length} outputs): ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(1e-4);
      } finally {
        await model.close();
      }
    }
  });

  it('turns each chunk into bytes and forwards them to the video encoder', async () => {
    const pkg = vaePackage(fp32);
    const vae = await VaeDecoderModel.load(pkg, opts);
    try {
      const { latents, frames } = caseOf(fp32, 13);
      const video = { fps: 8, num_frames: 49, width: 48, height: 32 };
      const reply = await vaeDecoderHandler(vae, pkg.manifest)({ meta: { video }, tensors: { latents } });
      expect(reply.forwardTo).toBe(`spool.${pkg.manifest.name}.video-encoder`);
      const got = reply.tensors.frames;
      const expected = toUint8Frames(frames);
      expect(got.shape).toEqual([2, 49, 32, 48, 3]);
      let off = 0;
      for (let i = 0; i < expected.data.length; i++) off = Math.max(off, Math.abs((got.data as Uint8Array)[i] - expected.data[i]));
      expect(off).toBeLessThanOrEqual(1); // a 1e-6 difference may round the other way
    } finally {
      await vae.close();
    }
  });

  it('decodes a float16 graph with its weights in external data', async () => {
    const dir = await exportVae('fp16', ['--dtype', 'float16', '--external-data']);
    const files = (JSON.parse(readFileSync(path.join(dir, 'vae.json'), 'utf8')) as Exported).files;
    expect(files).toEqual(['vae_decoder.onnx', 'vae_decoder.onnx.data', 'vae_decoder_next.onnx', 'vae_decoder_next.onnx.data']);
    const vae = await load(dir);
    try {
      const { latents, frames } = caseOf(fp32, 4); // the same seeded weights and latents
      const d = maxDiff(await vae.decode(latents), frames);
      report.push(`  float16 inside, 4 latent frames: ${d.toExponential(2)}`);
      expect(d).toBeGreaterThan(0); // it did compute in half precision
      expect(d).toBeLessThanOrEqual(2e-2);
    } finally {
      await vae.close();
    }
  }, 180_000);

  it('refuses a next graph whose caches do not match', async () => {
    const pkg = vaePackage(fp32);
    const wrong = { ...pkg, manifest: { ...pkg.manifest, vae: { ...pkg.manifest.vae, chunked: { next: 'vae_decoder.onnx', frame_batch: 2 } } } };
    await expect(VaeDecoderModel.load(wrong, opts)).rejects.toThrow(
      /vae_decoder.onnx does not take vae_decoder.onnx's conv cache: it lacks the inputs conv_cache.conv_in, conv_cache.mid_block.resnets.0.conv1/,
    );
  });
});
