/**
 * `npm run bench:jobs`: how long the job store takes to store and read back a
 * finished video of a few MB, through a real nats-server with JetStream on
 * file storage and the closed bus, as the coordinator does it. Prints the
 * medians and writes bench/results/job-store.json.
 *
 *   npm run bench:jobs -- [--mb 1,3,8] [--runs 9]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JobStore, newJobId, readJobStoreLimits } from '@spool/coordinator';
import { jetStreamFor, REPO_ROOT, startNatsServer } from '@spool/infra';
import { busIdentities, connectNats, COORDINATOR_IDENTITY, createBusCredentials, inboxPrefix, readInt } from '@spool/shared';
import { time, type Timing } from './stats.ts';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '1,3,8' }, runs: { type: 'string' }, out: { type: 'string' } } });
const runs = readInt(values, 'runs', 9, { min: 1, max: 100 });
const sizesMb = values.mb!.split(',').map((s) => Number(s.trim()));
if (sizesMb.some((n) => !(n > 0 && n <= 256))) throw new Error(`--mb takes sizes in MB from 0 to 256, comma-separated (got ${values.mb})`);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);

const MODEL = 'bench';
const limits = readJobStoreLimits({});
const creds = createBusCredentials(busIdentities(1), { model: MODEL, shards: 1 });
const storeDir = mkdtempSync(path.join(os.tmpdir(), 'spool-bench-js-'));
const server = await startNatsServer({ extraConfig: creds.authorization, jetstream: jetStreamFor(storeDir, limits) });
const seed = creds.keys.find((k) => k.identity === COORDINATOR_IDENTITY)!.seed;
const nc = await connectNats({ servers: server.url, name: 'bench-coordinator', waitOnFirstConnect: false, auth: { identity: COORDINATOR_IDENTITY, inboxPrefix: inboxPrefix(MODEL, COORDINATOR_IDENTITY), seed } });
const store = await JobStore.open(nc, { model: MODEL, limits, log: { info: () => undefined, warn: () => undefined } });

interface SizeResult {
  readonly mb: number;
  readonly put: Timing;
  readonly get: Timing;
  /** MB/s at the medians. */
  readonly put_mb_s: number;
  readonly get_mb_s: number;
}

const results: SizeResult[] = [];
try {
  say(`bench: job store, ${runs} runs per size, videos of ${sizesMb.join(', ')} MB, nats-server with JetStream on ${os.tmpdir()}`);
  for (const mb of sizesMb) {
    const bytes = Uint8Array.from({ length: Math.round(mb * 1024 * 1024) }, (_, i) => (i * 131 + 7) & 255);
    const id = newJobId();
    const put = await time(runs, () => store.putVideo('token-0', id, bytes));
    const get = await time(runs, async () => {
      const read = await store.getVideoBytes('token-0', id);
      if (read?.bytes.byteLength !== bytes.byteLength) throw new Error('the video read back is not the one stored');
    });
    await store.deleteVideo('token-0', id);
    const rate = (t: Timing): number => Math.round((mb / (t.median_ms / 1000)) * 10) / 10;
    results.push({ mb, put, get, put_mb_s: rate(put), get_mb_s: rate(get) });
    say(`  ${mb} MB: put ${put.median_ms} ms (min ${put.min_ms}), get ${get.median_ms} ms (min ${get.min_ms}); ${rate(put)} / ${rate(get)} MB/s`);
  }
} finally {
  await nc.close();
  await server.stop();
  rmSync(storeDir, { recursive: true, force: true });
}

const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', 'job-store.json'));
mkdirSync(path.dirname(out), { recursive: true });
const result = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? '', node: process.version },
  date: new Date().toISOString(),
  storage: 'file',
  results,
};
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
say(`written ${path.relative(process.cwd(), out)}`);
