/**
 * `npm run bench:job-overhead`: what the jobs API costs over `POST /generate`
 * on a real stack. The same requests (body and seed) are made both ways,
 * alternately, in one run: synchronously (until the MP4's last byte) and as a
 * job (create, follow its events to `completed`, download the MP4 from the
 * job store). Prints the medians, the extra time a job takes and the ratio,
 * checks that both ways give the same bytes, and writes
 * bench/results/job-overhead.json.
 *
 *   npm run bench:job-overhead -- [--model models/cogvideox-mini] [--frames 49] [--steps 30] [--runs 7]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@spool/infra';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt } from '@spool/shared';
import { startLocalStack } from './local-stack.ts';
import { ratio } from './stats.ts';

const { values } = parseArgs({
  options: { model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) }, frames: { type: 'string' }, steps: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' } },
});
const numFrames = readInt(values, 'frames', 49, { min: 1, max: 100 });
const steps = readInt(values, 'steps', 30, { min: 1, max: 100 });
const runs = readInt(values, 'runs', 7, { min: 1, max: 50 });
const pkg = loadModelPackage(path.resolve(values.model!));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const TOKEN = 'bench-job-overhead-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

interface JobTimes {
  /** Until POST /v1/videos answered. */
  readonly create_ms: number;
  /** Until the `completed` event arrived. */
  readonly completed_ms: number;
  /** Until the MP4's last byte. */
  readonly total_ms: number;
}

const stack = await startLocalStack(pkg, 'job-overhead', { tokens: [TOKEN] });

const body = (seed: number) => ({ prompt: 'a red circle moving left on a blue background', num_frames: numFrames, num_inference_steps: steps, seed });

async function viaGenerate(seed: number): Promise<{ ms: number; bytes: Buffer }> {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}/generate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body(seed)) });
  if (res.status !== 200) throw new Error(`POST /generate answered ${res.status}: ${await res.text()}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { ms: performance.now() - t0, bytes };
}

/** Reads the event stream until its `completed` (or `failed`) event. */
async function waitCompleted(id: string): Promise<void> {
  const res = await fetch(`${stack.url}/v1/videos/${id}/events`, { headers: auth });
  if (res.status !== 200 || !res.body) throw new Error(`events of ${id} answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`the events of ${id} ended without a final event`);
      text += decoder.decode(value, { stream: true });
      if (/^event: completed$/m.test(text)) return;
      if (/^event: failed$/m.test(text)) throw new Error(`job ${id} failed: ${text.slice(text.lastIndexOf('data: '))}`);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

async function viaJob(seed: number): Promise<{ times: JobTimes; bytes: Buffer }> {
  const t0 = performance.now();
  const res = await fetch(`${stack.url}/v1/videos`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body(seed)) });
  if (res.status !== 200) throw new Error(`POST /v1/videos answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const create = performance.now() - t0;
  await waitCompleted(id);
  const completed = performance.now() - t0;
  const content = await fetch(`${stack.url}/v1/videos/${id}/content`, { headers: auth });
  if (content.status !== 200) throw new Error(`content of ${id} answered ${content.status}`);
  const bytes = Buffer.from(await content.arrayBuffer());
  const total = performance.now() - t0;
  await fetch(`${stack.url}/v1/videos/${id}`, { method: 'DELETE', headers: auth });
  return { times: { create_ms: create, completed_ms: completed, total_ms: total }, bytes };
}

const median = (xs: readonly number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 10) / 10;

const sync: number[] = [];
const jobs: JobTimes[] = [];
let identical = 0;
try {
  say(`bench: ${runs} requests each way, ${numFrames} frames × ${steps} steps of ${pkg.manifest.name}, alternating, one at a time`);
  await viaGenerate(1_000);
  await viaJob(1_001);
  for (let i = 0; i < runs; i++) {
    const seed = 42 + i;
    // Alternate which way goes first, so a drift in the machine's load falls on both.
    const first = i % 2 === 0 ? 'sync' : 'job';
    const a = first === 'sync' ? await viaGenerate(seed) : undefined;
    const job = await viaJob(seed);
    const b = a ?? (await viaGenerate(seed));
    sync.push(b.ms);
    jobs.push(job.times);
    if (job.bytes.equals(b.bytes)) identical++;
    say(`  ${i + 1}/${runs}: /generate ${b.ms.toFixed(0)} ms; job ${job.times.total_ms.toFixed(0)} ms (created ${job.times.create_ms.toFixed(0)} ms, completed ${job.times.completed_ms.toFixed(0)} ms)`);
  }
} finally {
  await stack.stop();
}

const result = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version, loadavg_1m: Math.round(os.loadavg()[0] * 10) / 10 },
  date: new Date().toISOString(),
  model: pkg.manifest.name,
  num_frames: numFrames,
  steps,
  runs,
  generate_ms: { median: median(sync), samples: sync.map((x) => Math.round(x)) },
  job_ms: {
    create_median: median(jobs.map((j) => j.create_ms)),
    completed_median: median(jobs.map((j) => j.completed_ms)),
    total_median: median(jobs.map((j) => j.total_ms)),
    samples: jobs.map((j) => Math.round(j.total_ms)),
  },
  job_extra_ms: Math.round((median(jobs.map((j) => j.total_ms)) - median(sync)) * 10) / 10,
  job_over_generate: ratio(median(jobs.map((j) => j.total_ms)), median(sync)),
  same_bytes: `${identical}/${runs}`,
};
say(
  `/generate ${result.generate_ms.median} ms; job ${result.job_ms.total_median} ms (answered in ${result.job_ms.create_median} ms, completed after ${result.job_ms.completed_median} ms): ` +
    `${result.job_extra_ms} ms more, ×${result.job_over_generate}; the same MP4 both ways ${result.same_bytes}`,
);
if (identical !== runs) throw new Error(`only ${identical} of ${runs} jobs gave the bytes /generate gave for the same body and seed`);
const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'job-overhead.json'));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
say(`written ${path.relative(process.cwd(), out)}`);
