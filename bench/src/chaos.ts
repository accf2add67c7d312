/**
 * `npm run chaos`: faults survived, on the real launcher. It starts `npm
 * start`'s launcher as a child process (two replicas of denoiser shard 0, one
 * worker of everything else, its own nats-server) on a free loopback port,
 * runs steady load from a few clients, and in turn, at fixed offsets:
 * `kill -9` of one denoiser replica, SIGSTOP of another (frozen: the
 * launcher's watchdog must kill it), `kill -9` of the only VAE worker, of
 * nats-server, then SIGTERM to the launcher while the clients keep sending. Every request's
 * outcome is recorded (200s checked with ffprobe), with /health's changes,
 * each fault's recovery, the drain and the exit, and whether any process was
 * left behind. Writes bench/results/chaos.json and chaos.png. Bounded in time
 * and requests; stops by itself. Exits 1 when a request was lost, a process
 * was left behind or the launcher did not stop by itself.
 *
 *   npm run chaos -- [--model models/cogvideox-mini] [--clients 3] [--frames 16] [--steps 20]
 *                    [--first-fault 15] [--spacing 20] [--linger 3] [--max-requests 3000] [--max-seconds 300] [--out-dir bench/results] [--keep-logs]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt } from '@spool/shared';
import { REPO_ROOT } from '@spool/infra';
import { chaosChart, outcomeOf, summarizeChaos, type ChaosRun, type RequestOutcome } from './chaos-report.ts';
import { Clock, secs, sleep } from './live/clock.ts';
import { checkAnswers, generateAnswers } from './live/coordinator-log.ts';
import { caughtRunning, killProcess, type FaultRecord, type FaultSignal } from './live/faults.ts';
import { HealthWatch } from './live/health.ts';
import { finish, launch, leftBehind, stopLauncher } from './live/live-stack.ts';
import type { ProcessTracker } from './live/processes.ts';
import { runLoad } from './live/load.ts';
import { machineFacts } from './live/machine.ts';
import { checkAll } from './live/mp4.ts';
import { renderTimeline } from './plot/index.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) },
    clients: { type: 'string' },
    frames: { type: 'string' },
    steps: { type: 'string' },
    'first-fault': { type: 'string' },
    spacing: { type: 'string' },
    linger: { type: 'string' },
    'max-requests': { type: 'string' },
    'max-seconds': { type: 'string' },
    'out-dir': { type: 'string' },
    'keep-logs': { type: 'boolean', default: false },
  },
});
const { 'keep-logs': keepLogs, ...opts } = values;
const settings = {
  clients: readInt(opts, 'clients', 3, { min: 1, max: 16 }),
  num_frames: readInt(opts, 'frames', 16, { min: 8, max: 100 }),
  steps: readInt(opts, 'steps', 20, { min: 1, max: 100 }),
  /** Seconds of load before the first fault, and between one fault and the next (the last is the SIGTERM). */
  first_fault_s: readInt(opts, 'first-fault', 15, { min: 3, max: 600 }),
  spacing_s: readInt(opts, 'spacing', 20, { min: 5, max: 600 }),
  /** Seconds the clients keep sending after the launcher exited (meeting refused connections). */
  linger_s: readInt(opts, 'linger', 3, { min: 0, max: 60 }),
  max_requests: readInt(opts, 'max-requests', 3000, { min: 1, max: 100_000 }),
  max_seconds: readInt(opts, 'max-seconds', 300, { min: 30, max: 3600 }),
};
const pkg = loadModelPackage(path.resolve(values.model!));
const outDir = path.resolve(values['out-dir'] ?? path.join(REPO_ROOT, 'bench', 'results'));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);

/** Two replicas of the first denoiser shard; one worker of everything else. */
const LAYOUT = {
  description: 'chaos run: two replicas of denoiser shard 0, one worker of every other stage',
  'text-encoder': { replicas: 1 },
  denoiser: [{ replicas: 2 }, { replicas: 1 }],
  'vae-decoder': { replicas: 1 },
  'video-encoder': { replicas: 1 },
};
/**
 * In turn: a replica of denoiser shard 0 caught computing (so most likely in
 * a call) killed, then one frozen (SIGSTOP: its process lives on, silent, and
 * the launcher's watchdog must kill it), the only VAE worker killed,
 * nats-server killed; SIGTERM to the launcher comes after them.
 */
const BUSY_REPLICA = 'a busy denoise.0 replica';
const FAULTS: ReadonlyArray<{ readonly target: string; readonly signal: FaultSignal }> = [
  { target: BUSY_REPLICA, signal: 'SIGKILL' },
  { target: BUSY_REPLICA, signal: 'SIGSTOP' },
  { target: 'vae-decoder', signal: 'SIGKILL' },
  { target: 'nats-server', signal: 'SIGKILL' },
];
const resolveTarget = async (target: string, tracker: ProcessTracker): Promise<string> =>
  target === BUSY_REPLICA ? ((await caughtRunning(tracker, 'denoise.0')) ?? 'denoise.0#0') : target;

const clock = new Clock();
const machine = machineFacts();
say(`chaos: ${pkg.manifest.name}, ${settings.clients} clients, ${settings.num_frames} frames × ${settings.steps} steps; ` +
  `${FAULTS.map((f) => `${f.signal} ${f.target}`).join(', ')} every ${settings.spacing_s} s from ${settings.first_fault_s} s, then SIGTERM`);
// One token sends everything: its rate limit is for callers, not this run.
const stack = await launch({ name: 'chaos', modelDir: pkg.dir, layout: LAYOUT, env: { SPOOL_RATE_LIMIT: '0' }, clock });
try {
  const { launcher, tracker } = stack;
  say(`launcher ready in ${stack.startupS} s at ${stack.url}: ${tracker.latest().map((t) => t.label).join(', ')}`);
  const atStart = tracker.latest().map((t) => ({ label: t.label, pid: t.pid }));
  const sampler = setInterval(() => tracker.refresh(), 500);
  clock.restart();
  const health = new HealthWatch(stack.url, clock).start();
  let exitAt: number | undefined;
  void launcher.exited.then((e) => (exitAt = e.at));
  const load = runLoad({
    url: stack.url,
    token: stack.token,
    clients: settings.clients,
    clock,
    numFrames: settings.num_frames,
    steps: settings.steps,
    maxRequests: settings.max_requests,
    stop: () => clock.now() > settings.max_seconds || (exitAt !== undefined && clock.now() > exitAt + settings.linger_s),
  });
  const until = async (at: number): Promise<void> => {
    while (clock.now() < at && clock.now() < settings.max_seconds) await sleep(Math.min(100, (at - clock.now()) * 1000));
  };

  const faults: FaultRecord[] = [];
  const recoveries: Array<Promise<FaultRecord>> = [];
  const ctx = { tracker, clock, url: stack.url, health, workers: stack.layout.workers.length };
  for (const [i, fault] of FAULTS.entries()) {
    const at = settings.first_fault_s + i * settings.spacing_s;
    await until(at);
    const { record, recovered } = await killProcess(await resolveTarget(fault.target, tracker), ctx, at + settings.spacing_s - 0.5, fault.signal);
    faults.push(record);
    recoveries.push(recovered);
    say(`${secs(clock.now())} s: ${record.label}${record.pid ? ` (pid ${record.pid})` : ''}${record.error ? `: ${record.error}` : ''}; ${load.inFlight().length} requests in flight`);
  }
  await until(settings.first_fault_s + FAULTS.length * settings.spacing_s);
  await Promise.all(recoveries);
  tracker.refresh();
  const sigterm = { at: secs(clock.now()), pid: launcher.pid };
  say(`${sigterm.at} s: SIGTERM to the launcher (pid ${launcher.pid}); ${load.inFlight().length} requests in flight`);
  // Its stop waits for the coordinator's drain (the requests it admitted), then the workers and NATS.
  const { exit, killed } = await stopLauncher(stack, 'SIGTERM', Math.max(5, settings.max_seconds - clock.now()) * 1000);
  clearInterval(sampler);
  say(`${exit.at} s: the launcher exited (${exit.code ?? exit.signal})${killed ? ' only after SIGKILL: it did not stop by itself within the run' : ''}`);
  const sent = await load.done;
  health.stop();
  const left = await leftBehind(tracker);

  say(`checking ${sent.filter((r) => r.status === 200).length} MP4s with ffprobe…`);
  const videos = await checkAll(sent);
  const requests: RequestOutcome[] = sent.map((sentRequest) => {
    const { body: _body, ...r } = sentRequest;
    const video = videos.get(sentRequest);
    return { ...r, outcome: outcomeOf(r, video, sigterm.at), ...(video ? { video } : {}) };
  });
  const answers = checkAnswers(generateAnswers(path.join(stack.workDir, 'logs', 'coordinator.log')), requests);
  const run: ChaosRun = { requests, faults, health: health.changes, sigterm, exit, leftBehind: left, answers };
  const summary = summarizeChaos(run);

  mkdirSync(outDir, { recursive: true });
  const result = {
    model: pkg.manifest.name,
    date: new Date().toISOString(),
    machine,
    settings: { ...settings, layout: LAYOUT, faults: FAULTS, launcher_env: { SPOOL_RATE_LIMIT: '0' } },
    startup_s: stack.startupS,
    load_average_end: os.loadavg().map((l) => Math.round(l * 100) / 100),
    processes_at_start: atStart,
    summary,
    faults,
    sigterm,
    launcher_exit: { ...exit, killed },
    left_behind: left,
    health: health.changes,
    launcher_lines: launcher.notable,
    requests,
  };
  writeFileSync(path.join(outDir, 'chaos.json'), `${JSON.stringify(result, null, 1)}\n`);
  const title = `spool chaos run: ${pkg.manifest.name}, ${settings.clients} clients, ${settings.num_frames} frames x ${settings.steps} steps`;
  writeFileSync(path.join(outDir, 'chaos.png'), renderTimeline(chaosChart(run, summary, title)));

  const s = summary;
  say('');
  say(`requests: ${s.sent} sent, ${s.completed} completed (${s.retried_and_completed} after ${s.stage_calls_sent_again} stage calls were sent again), ` +
    `${s.refused.total} refused ${JSON.stringify(s.refused.by_code)}, ${s.failed.total} failed ${JSON.stringify(s.failed.by_code)}`);
  say(`latency of completed (s): p50 ${s.latency_s.p50}, p90 ${s.latency_s.p90}, p99 ${s.latency_s.p99}, max ${s.latency_s.max}`);
  for (const f of s.faults) {
    say(`${f.label} at ${f.at} s: ${f.in_flight_completed}/${f.in_flight} in-flight requests completed (${f.in_flight_retried} with stage calls sent again); replaced after ${f.replaced_after_s ?? '—'} s, ` +
      `all workers listed after ${f.full_strength_after_s ?? '—'} s; /health unhealthy ${f.unhealthy_s} s, healthy again after ${f.time_to_healthy_s ?? 'not before the next fault'} s`);
  }
  if (s.drain) {
    const d = s.drain;
    say(`SIGTERM at ${d.sigterm_at} s: ${d.in_flight_completed}/${d.in_flight} admitted requests completed; after it ${d.after.refused_503} got 503 (Retry-After ${d.retry_after_s ?? '—'} s), ` +
      `${d.after.refused_connection} a refused connection, ${d.after.reset_while_closing} a connection reset as the coordinator closed, ${d.after.completed} completed, ${d.after.other} other; ` +
      `the launcher exited ${d.launcher_exit_code ?? d.launcher_exit_signal} after ${d.stop_s} s`);
  }
  say(`the coordinator's log: ${answers.logged} answers to /generate; the clients received ${answers.received}; videos answered but not received: ${answers.videos_not_received.length}`);
  say(`left behind: ${left.length === 0 ? 'nothing' : left.map((l) => `${l.label} (pid ${l.pid})`).join(', ')}`);
  say(`LOST: ${s.lost} (target 0)`);
  // A run that missed its target says so to a script too.
  if (s.lost > 0 || left.length > 0 || killed) process.exitCode = 1;
  const kept = finish(stack, keepLogs || s.lost > 0 || left.length > 0 || killed);
  say(`written ${path.relative(process.cwd(), path.join(outDir, 'chaos.json'))} and chaos.png${kept ? `; logs kept in ${kept}` : ''}`);
} finally {
  if (!stack.launcher.done) {
    await stopLauncher(stack, 'SIGTERM', 60_000);
    await leftBehind(stack.tracker);
  }
}
