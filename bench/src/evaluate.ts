/**
 * `npm run evaluate`: judges what the model makes through the real service
 * path. A local stack serves the model; held-out prompts (combinations and
 * phrasings never seen in training, from the clip world `models.lib.world`)
 * go through POST /generate; the MP4s that come back are judged by
 * `python3 -m models.evaluate.judge`, run from the repository root
 * (background, object colour, shape, direction, scene, coherence). Also
 * checks that different seeds give different videos, and 8, 49 and 100
 * frames. Writes bench/results/<model>-eval.json.
 *
 *   npm run evaluate -- [--model models/cogvideox-mini] [--steps N] [--guidance G] [--guidance-rescale R] [--limit N] [--seeds N]
 *
 * Each held-out prompt is generated with --seeds seeds (default 3): with 36
 * shape prompts, one video more or less is 3 points of an accuracy, so one
 * seed per prompt cannot tell 92 % from 95 %.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { loadModelPackage, MODELS_DIR, readInt, readNumber } from '@spool/shared';
import { DEFAULT_LAYOUT, loadLayout, modelFacts, REPO_ROOT, startStack } from '@spool/infra';

const run = promisify(execFile);
const PYTHON = process.env.SPOOL_PYTHON || '/usr/bin/python3';
const TOKEN = 'evaluate-token-0123456789';

interface EvalItem {
  readonly prompt: string;
  readonly expect: Record<string, string>;
}

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(MODELS_DIR, 'cogvideox-mini') },
    steps: { type: 'string' },
    guidance: { type: 'string' },
    'guidance-rescale': { type: 'string' },
    limit: { type: 'string' },
    seeds: { type: 'string' },
    out: { type: 'string' },
  },
});
const pkg = loadModelPackage(path.resolve(values.model!));
const m = pkg.manifest;
const steps = readInt(values, 'steps', m.defaults.num_inference_steps, { min: 1, max: m.limits.max_inference_steps });
const guidance = readNumber(values, 'guidance', m.defaults.guidance_scale, { min: 0, max: m.limits.max_guidance_scale });
const guidanceRescale = readNumber(values, 'guidance-rescale', m.defaults.guidance_rescale, { min: 0, max: 1 });
const seeds = readInt(values, 'seeds', 3, { min: 1, max: 20 });
const limit = readInt(values, 'limit', 1000, { min: 1 });
const say = (s: string): void => void process.stdout.write(`${s}\n`);

async function evalSet(): Promise<EvalItem[]> {
  const code = 'import json; from models.lib.world import eval_set; print(json.dumps(eval_set()))';
  const { stdout } = await run(PYTHON, ['-c', code], { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as EvalItem[];
}

async function judge(files: string[], expects: Array<Record<string, string>>): Promise<{ videos: unknown[]; summary: Record<string, unknown> }> {
  const { stdout } = await run(PYTHON, ['-m', 'models.evaluate.judge', '--expect', JSON.stringify(expects), ...files], {
    cwd: REPO_ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as { videos: unknown[]; summary: Record<string, unknown> };
}

async function decodeRgb(file: string): Promise<Buffer> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', file, '-vf', `scale=${m.video.width}:${m.video.height}:flags=area`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    encoding: 'buffer',
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

const items = (await evalSet()).slice(0, limit);
const dir = mkdtempSync(path.join(tmpdir(), 'spool-eval-'));
say(`evaluate: ${m.name}, ${items.length} held-out prompts × ${seeds} seeds, ${steps} steps, guidance ${guidance}, guidance rescale ${guidanceRescale}`);
const layout = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(m), shorthands: { shards: 2 } });
// Hundreds of short requests back to back: the per-token rate limit is for callers, not this run.
const stack = await startStack({ modelDir: pkg.dir, layout, tokens: [TOKEN], port: 0, logDir: path.join(dir, 'logs'), env: { SPOOL_LOG_LEVEL: 'warn' }, coordinatorEnv: { SPOOL_RATE_LIMIT: '0' } });
try {
  const generate = async (prompt: string, numFrames: number, seed: number, name: string): Promise<string> => {
    const res = await fetch(`${stack.url}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, num_frames: numFrames, fps: m.defaults.fps, num_inference_steps: steps, guidance_scale: guidance, guidance_rescale: guidanceRescale, seed }),
    });
    if (res.status !== 200) throw new Error(`"${prompt}": ${res.status} ${await res.text()}`);
    const file = path.join(dir, name);
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    return file;
  };

  // 1. Held-out prompts at the default length, each with `seeds` seeds (the first is 1000 + its index).
  const t0 = performance.now();
  const files: string[] = [];
  const expects: Array<Record<string, string>> = [];
  for (let s = 0; s < seeds; s++) {
    for (const [i, item] of items.entries()) {
      files.push(await generate(item.prompt, m.defaults.num_frames, 1000 + i + 100_000 * s, `item-${i}-seed-${s}.mp4`));
      expects.push(item.expect);
    }
  }
  const heldOut = await judge(files, expects);
  say(`held-out accuracy: ${JSON.stringify(heldOut.summary)}  (${Math.round((performance.now() - t0) / 1000)} s)`);

  // 2. Lengths: the same shape prompts at 8, 49 and 100 frames.
  const shapeItems = items.filter((i) => i.expect.scene === 'shapes').slice(0, 8);
  const lengths: Record<string, unknown> = {};
  for (const n of [8, 49, 100]) {
    const lf = [];
    for (const [i, item] of shapeItems.entries()) lf.push(await generate(item.prompt, n, 2000 + i, `len-${n}-${i}.mp4`));
    lengths[String(n)] = (await judge(lf, shapeItems.map((i) => i.expect))).summary;
    say(`${n} frames: ${JSON.stringify(lengths[String(n)])}`);
  }

  // 3. Seeds: the same prompt with two seeds should not give the same video.
  const diversity = [];
  for (const [i, item] of items.slice(0, 6).entries()) {
    const [a, b] = await Promise.all([decodeRgb(await generate(item.prompt, 9, 1, `seed-a-${i}.mp4`)), decodeRgb(await generate(item.prompt, 9, 2, `seed-b-${i}.mp4`))]);
    let sum = 0;
    for (let k = 0; k < a.length; k++) sum += Math.abs(a[k] - b[k]);
    diversity.push({ prompt: item.prompt, mean_abs_pixel_difference: Math.round((sum / a.length) * 100) / 100 });
  }
  say(`seed diversity (mean |Δ| of pixel values, 0..255): ${diversity.map((d) => d.mean_abs_pixel_difference).join(', ')}`);

  const result = { model: m.name, date: new Date().toISOString(), steps, guidance, guidance_rescale: guidanceRescale, seeds, held_out: heldOut.summary, lengths, seed_diversity: diversity, videos: heldOut.videos };
  const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', `${m.name}-eval.json`));
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
  say(`written ${path.relative(process.cwd(), out)}`);
} finally {
  await stack.stop();
  rmSync(dir, { recursive: true, force: true });
}
