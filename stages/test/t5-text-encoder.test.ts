/**
 * CogVideoX's real text encoder on a tiny T5 v1.1: the Python tooling exports a
 * random-weight encoder (as one file, with external data, and with float16
 * weights) and a tokenizer converted from a SentencePiece model
 * (`python3 -m models.cogvideox.text_encoder_fixture`); here onnxruntime-node
 * runs the graphs against PyTorch and the worker's tokenizer against
 * SentencePiece itself. Needs /usr/bin/python3 with torch, onnx and
 * sentencepiece (Debian's python3-torch, python3-onnx, python3-sentencepiece);
 * skipped with that message otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadModelPackage, type Tensor } from '@spool/shared';
import { OnnxModel, PromptTokenizer, TextEncoderModel, textEncoderHandler } from '../src/index.ts';
import { tinyPackage, toTensor, type ParityEntry } from './helpers/model.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PYTHON = '/usr/bin/python3';
const ENV = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const HAS_TOOLS =
  existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch, onnx, sentencepiece'], { stdio: 'ignore', env: ENV }).status === 0;
const SKIP = `(skipped: ${PYTHON} cannot import torch, onnx and sentencepiece; install python3-torch, python3-onnx, python3-sentencepiece)`;
const title = (name: string) => (HAS_TOOLS ? name : `${name} ${SKIP}`);

interface Fixture {
  tokenizer: { file: string; config: string; max_tokens: number; pad_id: number; eos_id: number; unk_id: number };
  text_encoder: { file: string; hidden_size: number };
  exports: Record<'float32' | 'external' | 'float16', { path: string; data: string | null }>;
}
type ParityFiles = Record<string, { inputs: Record<string, ParityEntry>; outputs: Record<string, ParityEntry> }>;

let dir = '';
const read = <T>(file: string): T => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as T;
const cpu = { device: { kind: 'cpu' as const }, threads: 1 };

function maxDiff(got: Tensor, exp: ParityEntry): number {
  expect(got.shape).toEqual(exp.shape);
  const ref = exp.data!;
  expect(got.data.length).toBe(ref.length);
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs((got.data as Float32Array)[i] - ref[i]));
  return d;
}

async function runParity(rel: string): Promise<{ file: number; short: number; out: Tensor }> {
  const parity = read<{ files: ParityFiles }>('parity.json').files;
  const model = await OnnxModel.load(path.join(dir, rel), cpu, rel);
  try {
    const full = parity['text_encoder.onnx'];
    const out = (await model.run({ input_ids: toTensor(full.inputs.input_ids) })).hidden_states;
    const short = parity.short;
    const outShort = (await model.run({ input_ids: toTensor(short.inputs.input_ids) })).hidden_states;
    return { file: maxDiff(out, full.outputs.hidden_states), short: maxDiff(outShort, short.outputs.hidden_states), out };
  } finally {
    await model.close();
  }
}

const report: string[] = [];

describe.skipIf(!HAS_TOOLS)('T5 text encoder and SentencePiece tokenizer (tiny, exported by models.cogvideox)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-t5-'));
    await promisify(execFile)(PYTHON, ['-m', 'models.cogvideox.text_encoder_fixture', '--out', dir], { cwd: REPO, env: ENV });
  });
  afterAll(() => {
    if (report.length) console.log(`T5 text encoder (tiny):\n${report.join('\n')}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(title('onnxruntime-node matches PyTorch to 1e-4 (float32, one file; batch 2 × 226 and batch 1 × 17)'), async () => {
    const { file, short } = await runParity('text_encoder.onnx');
    report.push(`  float32 one file: max|d| ${file.toExponential(2)} (2×226), ${short.toExponential(2)} (1×17)`);
    expect(file).toBeLessThanOrEqual(1e-4);
    expect(short).toBeLessThanOrEqual(1e-4);
  });

  it(title('external data: the graph holds no weights, loads its .data by relative path and agrees'), async () => {
    const { external } = read<Fixture>('fixture.json').exports;
    expect(external.data).toBe('text_encoder.onnx.data');
    const graph = statSync(path.join(dir, external.path)).size;
    const data = statSync(path.join(dir, path.dirname(external.path), external.data!)).size;
    expect(graph).toBeLessThan(data / 8);
    const one = await runParity('text_encoder.onnx');
    const ext = await runParity(external.path);
    report.push(`  float32 external data: max|d| ${ext.file.toExponential(2)}, graph ${graph} B + data ${data} B`);
    expect(ext.file).toBeLessThanOrEqual(1e-4);
    expect(ext.short).toBeLessThanOrEqual(1e-4);
    expect(Array.from(ext.out.data as Float32Array)).toEqual(Array.from(one.out.data as Float32Array));
  });

  it(title('float16 weights with float32 in and out agree with PyTorch to half precision'), async () => {
    const { float16 } = read<Fixture>('fixture.json').exports;
    expect(statSync(path.join(dir, float16.path)).size).toBeLessThan(statSync(path.join(dir, 'text_encoder.onnx')).size * 0.7);
    const { file, short } = await runParity(float16.path);
    report.push(`  float16 weights: max|d| ${file.toExponential(2)}`);
    expect(file).toBeLessThanOrEqual(2e-2);
    expect(short).toBeLessThanOrEqual(2e-2);
  });

  function tokenizer(): PromptTokenizer {
    const t = read<Fixture>('fixture.json').tokenizer;
    const spec = { maxTokens: t.max_tokens, padId: t.pad_id, eosId: t.eos_id, unkId: t.unk_id };
    return PromptTokenizer.fromFiles(path.join(dir, t.file), path.join(dir, t.config), spec);
  }

  it(title('token ids equal SentencePiece for a few hundred prompts (unicode, spaces, specials, truncation)'), () => {
    const { prompts, raw, input_ids } = read<{ prompts: string[]; raw: number[][]; input_ids: number[][] }>('tokens.json');
    expect(prompts.length).toBeGreaterThanOrEqual(300);
    const tok = tokenizer();
    const L = tok.spec.maxTokens;
    expect(L).toBe(226);
    const batch = tok.encode(prompts);
    const mismatched = prompts.filter((_, b) => {
      const row = Array.from(batch.inputIds.data.subarray(b * L, (b + 1) * L), Number);
      return JSON.stringify(row) !== JSON.stringify(input_ids[b]);
    });
    expect(mismatched).toEqual([]);
    prompts.forEach((p, b) => expect(tok.ids(p), JSON.stringify(p)).toEqual(raw[b]));
    const truncated = raw.map((ids) => ids.length > L - 1);
    expect(batch.truncated).toEqual(truncated);
    expect(truncated.filter(Boolean).length).toBeGreaterThanOrEqual(5);
    // real tokens: the kept ids plus </s>, which is not added twice when the kept ids already end with it
    const kept = raw.map((ids) => ids.slice(0, L - 1));
    expect(batch.tokens).toEqual(kept.map((ids) => ids.length + (ids.at(-1) === tok.spec.eosId ? 0 : 1)));
    expect(kept.some((ids) => ids.at(-1) === tok.spec.eosId)).toBe(true);
    report.push(`  tokenizer: ${prompts.length} prompts equal SentencePiece's ids (${truncated.filter(Boolean).length} truncated)`);
  });

  it(title('token ids equal SentencePiece for every code point between letters, and below U+3400 at the edges'), () => {
    const { between, edges, ids } = read<{ between: number[]; edges: number[]; ids: number[][] }>('codepoints.json');
    const tok = tokenizer();
    const texts = [
      ...between.map((c) => `a${String.fromCodePoint(c)}b`),
      ...edges.map((c) => `${String.fromCodePoint(c)}a`),
      ...edges.map((c) => `a${String.fromCodePoint(c)}`),
    ];
    expect(texts.length).toBe(ids.length);
    const wrong = texts.filter((t, i) => JSON.stringify(tok.ids(t)) !== JSON.stringify(ids[i]));
    expect(wrong.map((t) => [...t].map((c) => c.codePointAt(0)!.toString(16)).join(' '))).toEqual([]);
    report.push(`  tokenizer: ${texts.length} single-code-point texts equal SentencePiece's ids`);
  });

  it(title('the worker path: manifest → tokenizer → text_encoder.onnx gives PyTorch embeddings of the prompts'), async () => {
    const fx = read<Fixture>('fixture.json');
    const manifest = { ...tinyPackage().manifest, name: 'tiny-t5', tokenizer: fx.tokenizer, text_encoder: fx.text_encoder };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const pkg = loadModelPackage(dir);
    const parity = read<{ prompts: string[]; files: ParityFiles }>('parity.json');
    const model = await TextEncoderModel.load(pkg, cpu);
    try {
      const handler = textEncoderHandler(model, PromptTokenizer.fromPackage(pkg), 2000);
      const reply = await handler({ meta: { prompts: parity.prompts }, tensors: {} });
      const expected = parity.files['text_encoder.onnx'];
      expect(reply.meta.truncated).toEqual([false, false]);
      expect(maxDiff(reply.tensors.text_embeddings, expected.outputs.hidden_states)).toBeLessThanOrEqual(1e-4);
    } finally {
      await model.close();
    }
  });
});
