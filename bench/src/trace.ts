/**
 * `npm run trace`: a picture of one real request's trace. Starts an OTLP/HTTP
 * receiver in this process and a local stack (nats-server, `npm start`'s
 * layout of workers, the coordinator) exporting to it, sends one warm-up
 * request and then the pictured `/generate`, collects every span of its
 * trace from all six services, and writes them as bench/results/trace.json
 * and as a waterfall, bench/results/trace.png (one row per span, nested by
 * parent, coloured by service, labelled with its name and key attributes).
 * Bounded: two requests, and at most --max-wait-s for the spans.
 *
 *   npm run trace -- [--model models/cogvideox-mini] [--layout infra/layout.json] [--frames 49] [--steps 30]
 *                    [--seed 42] [--prompt "…"] [--warmup 1] [--width 1800] [--max-wait-s 30] [--out-dir bench/results]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt, startOtlpReceiver } from '@spool/shared';
import { DEFAULT_LAYOUT, loadLayout, modelFacts, REPO_ROOT, startStack } from '@spool/infra';
import { machineFacts } from './live/machine.ts';
import { renderWaterfall } from './plot/index.ts';
import { completeTrace, summarizeTrace, toTraceSpans, traceWaterfall } from './trace-report.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) },
    layout: { type: 'string', default: DEFAULT_LAYOUT },
    frames: { type: 'string' },
    steps: { type: 'string' },
    seed: { type: 'string' },
    prompt: { type: 'string', default: 'A serene sunset over the ocean with birds flying in the sky.' },
    warmup: { type: 'string' },
    width: { type: 'string' },
    'max-wait-s': { type: 'string' },
    'out-dir': { type: 'string' },
  },
});
const settings = {
  num_frames: readInt(values, 'frames', 49, { min: 8, max: 100 }),
  steps: readInt(values, 'steps', 30, { min: 1, max: 100 }),
  seed: readInt(values, 'seed', 42, { min: 0, max: 4_294_967_295 }),
  prompt: values.prompt!,
  /** Requests of the same shape sent first and not pictured: the workers' first calls of a new shape are slower. */
  warmup: readInt(values, 'warmup', 1, { min: 0, max: 10 }),
};
const width = readInt(values, 'width', 1800, { min: 800, max: 8000 });
const maxWaitMs = 1000 * readInt(values, 'max-wait-s', 30, { min: 1, max: 600 });
const pkg = loadModelPackage(path.resolve(values.model!));
const layoutFile = path.resolve(REPO_ROOT, values.layout!);
const layout = loadLayout({ file: layoutFile, model: modelFacts(pkg.manifest) });
const outDir = path.resolve(values['out-dir'] ?? path.join(REPO_ROOT, 'bench', 'results'));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const TOKEN = `trace-${process.pid}-0123456789abcdef`;
const services = ['spool-coordinator', ...new Set(layout.workers.map((w) => (w.role === 'denoiser' ? `spool-denoise-${w.shard}` : `spool-${w.role}`)))];

say(`trace: ${pkg.manifest.name}, ${settings.num_frames} frames, ${settings.steps} steps, seed ${settings.seed}; layout ${path.relative(REPO_ROOT, layoutFile)}`);
const machine = machineFacts();
const otlp = await startOtlpReceiver();
const logDir = mkdtempSync(path.join(tmpdir(), 'spool-trace-'));
let stack: Awaited<ReturnType<typeof startStack>> | undefined;
try {
  stack = await startStack({
    modelDir: pkg.dir,
    layout,
    tokens: [TOKEN],
    port: 0,
    logDir,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200', SPOOL_LOG_LEVEL: 'warn' },
  });
  const body = JSON.stringify({ prompt: settings.prompt, num_frames: settings.num_frames, num_inference_steps: settings.steps, seed: settings.seed });
  const generate = async (): Promise<Response> => {
    const res = await fetch(`${stack!.url}/generate`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    if (res.status !== 200) throw new Error(`/generate answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    return res;
  };
  for (let i = 0; i < settings.warmup; i++) await generate();
  const res = await generate();
  const traceId = res.headers.get('x-spool-trace-id') ?? '';
  const requestId = res.headers.get('x-spool-request-id') ?? '';

  // Spans arrive in batches from six processes: wait until the trace is whole and stops growing.
  const deadline = Date.now() + maxWaitMs;
  let spans = completeTrace(otlp.spans, traceId, services);
  for (let seen = -1; !spans || spans.length !== seen; spans = completeTrace(otlp.spans, traceId, services)) {
    if (Date.now() > deadline) throw new Error(`the spans of trace ${traceId} did not all arrive within ${maxWaitMs / 1000} s (${otlp.spans.filter((s) => s.traceId === traceId).length} so far)`);
    seen = spans?.length ?? -1;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const trace = toTraceSpans(spans);
  const summary = summarizeTrace(trace);
  const shards = layout.shards.length;
  const spec = traceWaterfall(trace, {
    title: `One request's trace: ${pkg.manifest.name}, ${settings.num_frames} frames, ${settings.steps} steps`,
    subtitle: `POST /generate on ${path.relative(REPO_ROOT, layoutFile)} (${shards} denoiser shards, ${layout.workers[0].device}); ${summary.spans} spans from ${Object.keys(summary.spans_per_service).length} services in ${Math.round(summary.total_ms)} ms`,
    width,
  });
  mkdirSync(outDir, { recursive: true });
  const png = path.join(outDir, 'trace.png');
  writeFileSync(png, renderWaterfall(spec));
  const json = path.join(outDir, 'trace.json');
  const result = { model: pkg.manifest.name, date: new Date().toISOString(), machine, layout: path.relative(REPO_ROOT, layoutFile), settings, trace_id: traceId, request_id: requestId, summary, spans: trace };
  writeFileSync(json, `${JSON.stringify(result, null, 2)}\n`);
  say(`${summary.spans} spans (${Object.entries(summary.spans_per_service).map(([s, n]) => `${s} ${n}`).join(', ')}) in ${Math.round(summary.total_ms)} ms`);
  say(
    `queue wait ${summary.queue_wait_ms} ms, text encode ${summary.text_encode_ms} ms, ${summary.denoise_steps} steps of median ${summary.denoise_step_median_ms} ms ` +
      `(${Object.entries(summary.shard_median_ms).map(([s, ms]) => `${s} ${ms}`).join(', ')}; sampler update ${summary.sampler_update_median_ms}), decode + encode ${summary.decode_and_encode_ms} ms`,
  );
  say(`written ${path.relative(process.cwd(), png)} and ${path.relative(process.cwd(), json)}`);
} finally {
  await stack?.stop();
  await otlp.close();
  rmSync(logDir, { recursive: true, force: true });
}
