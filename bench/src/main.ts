/**
 * `npm run bench`: per-stage inference costs and the service's latency and
 * throughput, measured side by side in one run, printed as ratios and written
 * as JSON to bench/results/<model>.json.
 *
 *   npm run bench -- [--model models/cogvideox-tiny] [--frames 49] [--steps 20] [--runs 3] [--requests 4]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt } from '@spool/shared';
import { REPO_ROOT } from '@spool/infra';
import { measureService } from './service.ts';
import { measureStageCosts } from './stage-costs.ts';
import { ratio } from './stats.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) },
    frames: { type: 'string' },
    steps: { type: 'string' },
    runs: { type: 'string' },
    requests: { type: 'string' },
    out: { type: 'string' },
  },
});
const numFrames = readInt(values, 'frames', 49, { min: 1, max: 100 });
const steps = readInt(values, 'steps', 20, { min: 1, max: 100 });
const runs = readInt(values, 'runs', 3, { min: 1, max: 20 });
const requests = readInt(values, 'requests', 4, { min: 1, max: 16 });
const pkg = loadModelPackage(path.resolve(values.model!));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);

say(`bench: ${pkg.manifest.name}, ${numFrames} frames, ${steps} steps, ${runs} runs, ${requests} requests per throughput round`);
const stages = await measureStageCosts(pkg, { numFrames, shards: 2, threads: 1, runs: Math.max(runs, 5) });
say(`stage costs (median ms): text ${stages.text_encoder.median_ms}, denoise step ${stages.denoise_shards.map((t) => t.median_ms).join(' + ')} = ${stages.denoise_step_total_ms}, vae ${stages.vae_decode.median_ms}, video ${stages.video_encode.median_ms}`);

const common = { modelDir: pkg.dir, numFrames, steps, runs, requests };
const oneShardSerial = await measureService({ ...common, shards: 1, maxConcurrent: 1 });
const twoShardSerial = await measureService({ ...common, shards: 2, maxConcurrent: 1 });
const twoShardPipelined = await measureService({ ...common, shards: 2, maxConcurrent: requests });

const computeMs = stages.text_encoder.median_ms + steps * stages.denoise_step_total_ms + stages.vae_decode.median_ms + stages.video_encode.median_ms;
const result = {
  model: pkg.manifest.name,
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version },
  date: new Date().toISOString(),
  num_frames: numFrames,
  steps,
  stage_costs: stages,
  service: { one_shard_serial: oneShardSerial, two_shards_serial: twoShardSerial, two_shards_pipelined: twoShardPipelined },
  ratios: {
    /** Service latency over the sum of in-process stage costs: the price of NATS hops, serialisation and the sampler. */
    latency_over_compute: ratio(twoShardSerial.latency.median_ms, computeMs),
    /** Two shards vs one, one request at a time (an extra hop per step). */
    two_shards_over_one_latency: ratio(twoShardSerial.latency.median_ms, oneShardSerial.latency.median_ms),
    /** Throughput with requests overlapping in the pipeline over one at a time. */
    pipelined_throughput_gain: ratio(twoShardSerial.sequential_ms, twoShardPipelined.concurrent_ms),
  },
};
say(`service latency (median ms): 1 shard ${oneShardSerial.latency.median_ms}, 2 shards ${twoShardSerial.latency.median_ms}; in-process compute ${Math.round(computeMs)}`);
say(`ratios: latency/compute ${result.ratios.latency_over_compute}x, 2 shards/1 shard latency ${result.ratios.two_shards_over_one_latency}x, pipelined throughput ${result.ratios.pipelined_throughput_gain}x (${requests} requests: ${twoShardSerial.sequential_ms} ms one at a time, ${twoShardPipelined.concurrent_ms} ms overlapped)`);
const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', `${pkg.manifest.name}.json`));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
say(`written ${path.relative(process.cwd(), out)}`);
