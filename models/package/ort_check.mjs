// Checks a model package with onnxruntime-node: parity.json (max abs diff) and
// dynamic shapes (B = 1, 2; F = 1, 3, 26) for every ONNX file, plus the tokenizer.
//
//   node models/package/ort_check.mjs models/cogvideox-tiny
//
// Needs onnxruntime-node and @huggingface/tokenizers resolvable from the current
// directory (or NODE_PATH pointing at a node_modules that has them).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const require = createRequire(join(process.cwd(), "noop.js"));
const ort = require("onnxruntime-node");
const { Tokenizer } = require("@huggingface/tokenizers");

const dir = resolve(process.argv[2] ?? "models/cogvideox-tiny");
const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
const parity = JSON.parse(readFileSync(join(dir, "parity.json"), "utf8"));
let failures = 0;
const fail = (msg) => { failures++; console.log("FAIL " + msg); };

function toTensor(e) {
  if (e.dtype === "int64") return new ort.Tensor("int64", BigInt64Array.from(e.data.map(BigInt)), e.shape);
  return new ort.Tensor("float32", Float32Array.from(e.data), e.shape);
}

const sessions = {};
async function session(rel) {
  sessions[rel] ??= await ort.InferenceSession.create(join(dir, rel));
  return sessions[rel];
}

// 1. parity
for (const [rel, fx] of Object.entries(parity.files)) {
  const s = await session(rel);
  const feeds = Object.fromEntries(Object.entries(fx.inputs).map(([k, v]) => [k, toTensor(v)]));
  const out = await s.run(feeds);
  for (const [name, exp] of Object.entries(fx.outputs)) {
    const got = out[name];
    if (!got) { fail(`${rel}: missing output ${name}`); continue; }
    if (JSON.stringify(Array.from(got.dims)) !== JSON.stringify(exp.shape)) fail(`${rel}:${name} shape ${got.dims} != ${exp.shape}`);
    const ref = exp.data ?? exp.data_prefix;
    let maxd = 0;
    for (let i = 0; i < ref.length; i++) maxd = Math.max(maxd, Math.abs(got.data[i] - ref[i]));
    let extra = "";
    if (exp.sum !== undefined) {
      let sum = 0, abs = 0;
      for (const v of got.data) { sum += v; abs += Math.abs(v); }
      const relErr = Math.abs(abs - exp.abs_sum) / exp.abs_sum;
      extra = ` sum ${sum.toFixed(4)} vs ${exp.sum.toFixed(4)}, abs_sum rel err ${relErr.toExponential(2)}`;
      if (Math.abs(sum - exp.sum) > 1e-4 * exp.abs_sum || relErr > 1e-4) fail(`${rel}:${name} sums`);
    }
    if (maxd > 1e-4) fail(`${rel}:${name} max abs diff ${maxd}`);
    console.log(`parity ${rel}:${name} max|d|=${maxd.toExponential(2)}${extra}`);
  }
}

// 2. dynamic shapes
const L = manifest.tokenizer.max_tokens, Dt = manifest.text_encoder.hidden_size, D = manifest.transformer.hidden_size;
const C = manifest.latent.channels, s = manifest.latent.spatial_compression, p = manifest.transformer.patch_size;
const H = manifest.video.height, W = manifest.video.width, h = H / s, w = W / s, T = (h / p) * (w / p);
const rnd = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 1.3);
const f32 = (shape) => new ort.Tensor("float32", rnd(shape.reduce((a, b) => a * b, 1)), shape);
async function expectShape(rel, feeds, name, shape) {
  const out = await (await session(rel)).run(feeds);
  const got = out[name];
  const ok = got && JSON.stringify(Array.from(got.dims)) === JSON.stringify(shape) && got.data.every(Number.isFinite);
  if (!ok) fail(`${rel}:${name} dims ${got?.dims} expected ${shape}`);
}
for (const B of [1, 2]) {
  await expectShape(manifest.text_encoder.file, { input_ids: new ort.Tensor("int64", new BigInt64Array(B * L).fill(3n), [B, L]) }, "hidden_states", [B, L, Dt]);
  for (const F of [1, 3, 26]) {
    const S = L + F * T;
    await expectShape(manifest.transformer.embed, { sample: f32([B, F, C, h, w]), encoder_hidden_states: f32([B, L, Dt]), timestep: new ort.Tensor("float32", new Float32Array(B).fill(999), [B]) }, "hidden_states", [B, S, D]);
    await expectShape(manifest.transformer.embed, { sample: f32([B, F, C, h, w]), encoder_hidden_states: f32([B, L, Dt]), timestep: new ort.Tensor("float32", new Float32Array(B).fill(0), [B]) }, "temb", [B, D]);
    for (const blk of manifest.transformer.blocks) await expectShape(blk, { hidden_states: f32([B, S, D]), temb: f32([B, D]) }, "hidden_states_out", [B, S, D]);
    await expectShape(manifest.transformer.head, { hidden_states: f32([B, S, D]), temb: f32([B, D]) }, "sample", [B, F, C, h, w]);
    await expectShape(manifest.vae.decoder, { latents: f32([B, F, C, h, w]) }, "frames", [B, 4 * (F - 1) + 1, 3, H, W]);
  }
}
console.log("dynamic shapes checked: B in {1,2}, F in {1,3,26}");

// 3. tokenizer
const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, manifest.tokenizer.file), "utf8")), JSON.parse(readFileSync(join(dir, manifest.tokenizer.config), "utf8")));
const enc = tok.encode("A red circle moving left over the ocean at sunset");
const ids = enc.ids.map((i) => i ?? manifest.tokenizer.unk_id).slice(0, L - 1);
ids.push(manifest.tokenizer.eos_id);
while (ids.length < L) ids.push(manifest.tokenizer.pad_id);
const expIds = parity.files[manifest.text_encoder.file].inputs.input_ids.data.slice(0, L);
if (JSON.stringify(ids) !== JSON.stringify(expIds)) fail(`tokenizer ids ${ids} != ${expIds}`);
console.log("tokenizer:", enc.tokens.join(" "), "->", ids.join(","), "| unknown:", tok.encode("Café zebra!").ids.join(","));

console.log(failures ? `${failures} FAILURE(S)` : "ALL OK");
process.exit(failures ? 1 : 0);
