/**
 * What nats-server's memory does under steady load, bus by bus: the closed
 * bus as the launcher writes it, the same with the stages' reply permission
 * expiring after `--expires` instead of an hour, and an open bus. Each variant
 * gets its own nats-server with its monitoring port on loopback, a stack on
 * it (`npm start`'s layout) and the same requests; nats-server's RSS and its
 * own `/varz` memory and `/subsz` subscription count are sampled as they run.
 * Writes bench/results/bus-memory.json. Bounded in requests; stops by itself.
 *
 * nats-server sweeps a connection's table of reply subjects only once it
 * holds more than 4096, so the variants part only after that many calls to
 * one worker: the defaults (short requests of many steps) get there within
 * the first minute of each variant.
 *
 *   node --import tsx bench/src/bus-memory.ts [--requests 300] [--expires 10s] [--frames 8] [--steps 50]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { busIdentities, createBusCredentials, DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt, writeBusCredentials } from '@spool/shared';
import { DEFAULT_LAYOUT, freePort, loadLayout, modelFacts, REPO_ROOT, startNatsServer, startStack } from '@spool/infra';
import { Clock, secs } from './live/clock.ts';
import { runLoad } from './live/load.ts';
import { machineFacts } from './live/machine.ts';
import { rssMb } from './live/processes.ts';
import { slope } from './soak-report.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) },
    requests: { type: 'string' },
    expires: { type: 'string', default: '10s' },
    frames: { type: 'string' },
    steps: { type: 'string' },
    out: { type: 'string' },
  },
});
const requests = readInt(values, 'requests', 300, { min: 1, max: 10_000 });
const numFrames = readInt(values, 'frames', 8, { min: 8, max: 100 });
const steps = readInt(values, 'steps', 50, { min: 1, max: 100 });
const expires = values.expires!;
if (!/^\d+[smh]$/.test(expires)) throw new Error(`--expires ${expires} must be a duration nats-server reads, such as 10s, 5m or 1h`);
const pkg = loadModelPackage(path.resolve(values.model!));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const TOKEN = 'bus-memory-token-0123456789';
/** What the launcher writes for the stages' answers, replaced in the second variant. */
const STAGE_EXPIRES = 'expires: "3600s"';

interface Variant {
  readonly name: string;
  /** The authorization block, or undefined for an open bus. */
  readonly authorization?: (closed: string) => string;
}
const VARIANTS: readonly Variant[] = [
  { name: 'closed bus (as launched)', authorization: (a) => a },
  { name: `closed bus, stage answers expire after ${expires}`, authorization: (a) => a.replaceAll(STAGE_EXPIRES, `expires: "${expires}"`) },
  { name: 'open bus', authorization: undefined },
];

async function measure(v: Variant): Promise<object> {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-bus-memory-'));
  const creds = createBusCredentials(busIdentities(2), { model: pkg.manifest.name, shards: 2 });
  writeBusCredentials(dir, creds);
  const authorization = v.authorization?.(creds.authorization);
  if (v.authorization && authorization === creds.authorization && v !== VARIANTS[0]) throw new Error(`the launcher's bus no longer says ${STAGE_EXPIRES}`);
  const monitor = await freePort();
  const nats = await startNatsServer({ extraConfig: `${authorization ?? ''}\nhttp: "127.0.0.1:${monitor}"\n` });
  const layout = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(pkg.manifest), shorthands: { shards: 2 } });
  const stack = await startStack({
    modelDir: pkg.dir,
    layout,
    tokens: [TOKEN],
    port: 0,
    natsUrl: nats.url,
    busCredentialsDir: authorization ? dir : undefined,
    logDir: path.join(dir, 'logs'),
    env: { SPOOL_LOG_LEVEL: 'warn' },
    coordinatorEnv: { SPOOL_RATE_LIMIT: '0' },
  });
  const clock = new Clock();
  const samples: Array<{ at: number; rss_mb?: number; varz_mem_mb: number; subscriptions: number }> = [];
  try {
    const monitorJson = async (p: string): Promise<Record<string, number>> => (await fetch(`http://127.0.0.1:${monitor}${p}`)).json() as Promise<Record<string, number>>;
    const sample = async (): Promise<void> => {
      const [varz, subsz] = await Promise.all([monitorJson('/varz'), monitorJson('/subsz')]);
      const rss = rssMb(nats.serverPid()!);
      samples.push({ at: secs(clock.now()), rss_mb: rss && Math.round(rss * 10) / 10, varz_mem_mb: Math.round((varz.mem / 2 ** 20) * 10) / 10, subscriptions: subsz.num_subscriptions });
    };
    await sample();
    const timer = setInterval(() => void sample().catch(() => undefined), 2_000);
    const sent = await runLoad({ url: stack.url, token: TOKEN, clients: 3, clock, numFrames, steps, maxRequests: requests, stop: () => false }).done;
    clearInterval(timer);
    await sample();
    const rss = samples.filter((s) => s.rss_mb !== undefined).map((s) => [s.at, s.rss_mb!] as const);
    const late = rss.filter(([t]) => t >= rss[rss.length - 1][0] / 2);
    const result = {
      variant: v.name,
      requests: sent.length,
      ok: sent.filter((r) => r.status === 200).length,
      seconds: secs(clock.now()),
      rss_mb_first: rss[0]?.[1],
      rss_mb_last: rss[rss.length - 1]?.[1],
      late_slope_mb_per_min: Math.round(slope(late) * 60 * 100) / 100,
      subscriptions: [samples[0].subscriptions, samples[samples.length - 1].subscriptions],
      samples,
    };
    say(`${v.name}: ${result.ok}/${result.requests} ok in ${result.seconds} s; nats-server RSS ${result.rss_mb_first} → ${result.rss_mb_last} MB ` +
      `(second half ${result.late_slope_mb_per_min} MB/min); subscriptions ${result.subscriptions.join(' → ')}`);
    return result;
  } finally {
    await stack.stop();
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

say(`bus memory: ${pkg.manifest.name}, ${requests} requests of ${numFrames} frames × ${steps} steps from 3 clients per variant`);
const results = [];
for (const v of VARIANTS) results.push(await measure(v));
const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'bus-memory.json'));
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ model: pkg.manifest.name, date: new Date().toISOString(), machine: machineFacts(), requests, num_frames: numFrames, steps, variants: results }, null, 1)}\n`);
say(`written ${path.relative(process.cwd(), out)}`);
