/**
 * `npm run soak`: does anything grow? The real launcher (`npm start`'s layout
 * by default) serves a steady stream of requests (300 by default) from a few
 * clients, while the RSS of every spool process (from /proc/<pid>/status,
 * processes found as the launcher's descendants and labelled by role) is
 * sampled once a second. Writes bench/results/soak.json (settings, the RSS
 * series, latency percentiles, outcomes, each process's growth from the
 * first tenth of the run to the last) and soak.png, and says whether any
 * process grew. Bounded in requests and time; stops by itself.
 *
 *   npm run soak -- [--model models/cogvideox-mini] [--layout infra/layout.json] [--requests 300] [--clients 3]
 *                   [--frames 49] [--steps 30] [--warmup 6] [--sample-ms 1000] [--max-seconds 900]
 *                   [--growth-mb 5] [--growth-pct 5] [--out-dir bench/results] [--keep-logs]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt } from '@spool/shared';
import { DEFAULT_LAYOUT, readLayoutFile, REPO_ROOT } from '@spool/infra';
import { Clock, secs } from './live/clock.ts';
import { finish, launch, leftBehind, stopLauncher } from './live/live-stack.ts';
import { runLoad } from './live/load.ts';
import { machineFacts } from './live/machine.ts';
import { checkAll } from './live/mp4.ts';
import { HELPER_ROLES, rssMb } from './live/processes.ts';
import { renderLineChart } from './plot/index.ts';
import { soakChart, summarizeSoak, type RssSeries } from './soak-report.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) },
    layout: { type: 'string', default: DEFAULT_LAYOUT },
    requests: { type: 'string' },
    clients: { type: 'string' },
    frames: { type: 'string' },
    steps: { type: 'string' },
    warmup: { type: 'string' },
    'sample-ms': { type: 'string' },
    'max-seconds': { type: 'string' },
    'growth-mb': { type: 'string' },
    'growth-pct': { type: 'string' },
    'out-dir': { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
  },
});
const { 'keep-logs': keepLogs, ...opts } = values;
const settings = {
  requests: readInt(opts, 'requests', 300, { min: 1, max: 100_000 }),
  clients: readInt(opts, 'clients', 3, { min: 1, max: 16 }),
  num_frames: readInt(opts, 'frames', 49, { min: 8, max: 100 }),
  steps: readInt(opts, 'steps', 30, { min: 1, max: 100 }),
  /** Requests sent before the sampling starts, so that start-up allocations are not taken for growth. */
  warmup: readInt(opts, 'warmup', 6, { min: 0, max: 1000 }),
  sample_ms: readInt(opts, 'sample-ms', 1000, { min: 100, max: 60_000 }),
  max_seconds: readInt(opts, 'max-seconds', 900, { min: 10, max: 86_400 }),
  /** A process "grew" when its last tenth's mean RSS exceeds its first tenth's by both of these. */
  growth_threshold: { mb: readInt(opts, 'growth-mb', 5, { min: 0, max: 100_000 }), pct: readInt(opts, 'growth-pct', 5, { min: 0, max: 1000 }) },
};
const pkg = loadModelPackage(path.resolve(values.model!));
const layoutFile = path.resolve(REPO_ROOT, values.layout!);
// Checked first, so a bad file fails here with the layout's own message; the launcher gets it as written.
readLayoutFile(layoutFile, path.relative(REPO_ROOT, layoutFile));
const layout = JSON.parse(readFileSync(layoutFile, 'utf8')) as object;
const outDir = path.resolve(values['out-dir'] ?? path.join(REPO_ROOT, 'bench', 'results'));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);

const clock = new Clock();
const machine = machineFacts();
say(`soak: ${pkg.manifest.name}, ${settings.requests} requests of ${settings.num_frames} frames × ${settings.steps} steps from ${settings.clients} clients, ` +
  `RSS sampled every ${settings.sample_ms} ms; layout ${path.relative(REPO_ROOT, layoutFile)}`);
const stack = await launch({ name: 'soak', modelDir: pkg.dir, layout, env: { SPOOL_RATE_LIMIT: '0' }, clock });
try {
  const { tracker } = stack;
  say(`launcher ready in ${stack.startupS} s: ${tracker.latest().map((t) => t.label).join(', ')}`);
  const common = { url: stack.url, token: stack.token, clients: settings.clients, clock, numFrames: settings.num_frames, steps: settings.steps };
  const failedEarly = (): boolean => stack.launcher.done || clock.now() > settings.max_seconds;
  if (settings.warmup > 0) {
    const warm = await runLoad({ ...common, maxRequests: settings.warmup, stop: failedEarly }).done;
    say(`warm-up: ${warm.filter((r) => r.status === 200).length}/${warm.length} answered 200`);
  }

  const series = new Map<string, { pids: number[]; points: Array<[number, number]> }>();
  const sample = (): void => {
    const at = secs(clock.now());
    for (const t of tracker.refresh()) {
      if (HELPER_ROLES.has(t.role)) continue;
      const mb = rssMb(t.pid);
      if (mb === undefined) continue;
      const s = series.get(t.label) ?? { pids: [], points: [] };
      if (!s.pids.includes(t.pid)) s.pids.push(t.pid);
      s.points.push([at, Math.round(mb * 10) / 10]);
      series.set(t.label, s);
    }
  };
  clock.restart();
  sample();
  const sampler = setInterval(sample, settings.sample_ms);
  let done = 0;
  const load = runLoad({
    ...common,
    maxRequests: settings.requests,
    stop: failedEarly,
    onDone: () => {
      if (++done % 50 === 0) say(`${secs(clock.now())} s: ${done} requests done`);
    },
  });
  const sent = await load.done;
  const end = secs(clock.now());
  sample();
  clearInterval(sampler);
  const { exit, killed } = await stopLauncher(stack, 'SIGTERM', 60_000);
  const left = await leftBehind(tracker);
  say(`load done after ${end} s; launcher stopped (${exit.code ?? exit.signal})${killed ? ' only after SIGKILL' : ''}; left behind: ${left.length === 0 ? 'nothing' : left.map((l) => l.label).join(', ')}`);

  const videos = await checkAll(sent);
  const requests = sent.map((r) => {
    const { body: _body, ...rest } = r;
    const video = videos.get(r);
    return { ...rest, valid: video?.valid ?? false, ...(video ? { video } : {}) };
  });
  const order = ['launcher', 'coordinator', 'nats-server'];
  const rank = (label: string): number => (order.includes(label) ? order.indexOf(label) : order.length);
  const rss: RssSeries[] = [...series.entries()]
    .map(([label, s]) => ({ label, pids: s.pids, points: s.points }))
    .sort((a, b) => rank(a.label) - rank(b.label) || a.label.localeCompare(b.label));
  const summary = summarizeSoak(requests, rss, { from: 0, to: end }, settings.growth_threshold);

  mkdirSync(outDir, { recursive: true });
  const result = {
    model: pkg.manifest.name,
    date: new Date().toISOString(),
    machine,
    settings: { ...settings, layout: path.relative(REPO_ROOT, layoutFile), launcher_env: { SPOOL_RATE_LIMIT: '0' } },
    startup_s: stack.startupS,
    load_average_end: os.loadavg().map((l) => Math.round(l * 100) / 100),
    summary,
    launcher_exit: { ...exit, killed },
    left_behind: left,
    rss_mb: rss,
    requests: requests.map(({ seq, client, start, end: e, status, code, retries, bytes, valid }) => ({ seq, client, start, end: e, status, code, retries, bytes, valid })),
  };
  writeFileSync(path.join(outDir, 'soak.json'), `${JSON.stringify(result, null, 1)}\n`);
  const s = summary;
  const grewText = s.grew.length === 0 ? 'no process grew' : `grew: ${s.grew.join(', ')}`;
  const title = `spool soak: ${pkg.manifest.name}, ${s.sent} requests of ${settings.num_frames} frames x ${settings.steps} steps, ${settings.clients} clients`;
  const subtitle = `${s.completed} completed in ${Math.round(s.duration_s)} s; RSS first tenth to last tenth: ${grewText} (threshold ${settings.growth_threshold.mb} MB and ${settings.growth_threshold.pct} %)`;
  writeFileSync(path.join(outDir, 'soak.png'), renderLineChart(soakChart(rss, title, subtitle)));

  say('');
  say(`requests: ${s.sent} sent, ${s.completed} completed, failed ${JSON.stringify(s.failed_by_code)}; ${s.completed_per_s} a second`);
  say(`latency (s): p50 ${s.latency_s.p50}, p90 ${s.latency_s.p90}, p99 ${s.latency_s.p99}, max ${s.latency_s.max}`);
  for (const [label, g] of Object.entries(s.processes)) {
    say(`  ${label.padEnd(14)} ${String(g.first_tenth_mb).padStart(7)} MB -> ${String(g.last_tenth_mb).padStart(7)} MB  (${g.growth_mb >= 0 ? '+' : ''}${g.growth_mb} MB, ${g.growth_pct} %; ` +
      `late slope ${g.late_slope_mb_per_min} MB/min${g.restarts ? `; ${g.restarts} restarts` : ''})${g.grew ? '  GREW' : ''}`);
  }
  say(s.grew.length === 0 ? 'RSS: no process grew' : `RSS: ${grewText}`);
  // Growth is reported; a request without its video or a process left behind fails the run.
  if (s.completed < s.sent || left.length > 0 || killed) process.exitCode = 1;
  const kept = finish(stack, keepLogs || s.grew.length > 0 || left.length > 0 || killed || s.completed < s.sent);
  say(`written ${path.relative(process.cwd(), path.join(outDir, 'soak.json'))} and soak.png${kept ? `; logs kept in ${kept}` : ''}`);
} finally {
  if (!stack.launcher.done) {
    await stopLauncher(stack, 'SIGTERM', 60_000);
    await leftBehind(stack.tracker);
  }
}
