/**
 * How honest Retry-After and /info's estimated wait are on a real stack: two
 * tokens each send more requests at once than their share, and what the
 * coordinator predicted is set against when things happened. Bounded: two
 * warm-up requests, then two bursts; prints what it saw and writes JSON.
 *
 *   node --import tsx bench/src/admission.ts [--model models/cogvideox-mini] [--frames 49] [--steps 60] [--burst 4] [--per-token 3]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@spool/infra';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR, readInt } from '@spool/shared';
import { startLocalStack } from './local-stack.ts';

const { values } = parseArgs({
  options: { model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) }, frames: { type: 'string' }, steps: { type: 'string' }, burst: { type: 'string' }, 'per-token': { type: 'string' }, out: { type: 'string' } },
});
const numFrames = readInt(values, 'frames', 49, { min: 1, max: 100 });
const steps = readInt(values, 'steps', 60, { min: 1, max: 100 });
const burst = readInt(values, 'burst', 4, { min: 2, max: 16 });
// 2 running + 4 waiting; by default each of the two tokens may hold 3.
const perToken = readInt(values, 'per-token', 3, { min: 1, max: 6 });
const pkg = loadModelPackage(path.resolve(values.model!));
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const TOKENS = ['bench-token-a-0123456789', 'bench-token-b-0123456789'];

const stack = await startLocalStack(pkg, 'admission', { tokens: TOKENS, coordinatorEnv: { SPOOL_MAX_CONCURRENT: '2', SPOOL_MAX_QUEUE: '4', SPOOL_MAX_PER_TOKEN: String(perToken) } });
try {
  const t0 = performance.now();
  const at = (): number => (performance.now() - t0) / 1000;
  let seed = 0;
  const generate = async (token: string) => {
    const res = await fetch(`${stack.url}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a red circle moving left on a blue background', num_frames: numFrames, num_inference_steps: steps, seed: seed++ }),
    });
    const body = res.status === 200 ? (await res.arrayBuffer(), undefined) : ((await res.json()) as { code: string });
    return { token, status: res.status, code: body?.code, retryAfterS: Number(res.headers.get('retry-after') ?? NaN), doneAt: at() };
  };

  for (let i = 0; i < 2; i++) await generate(TOKENS[0]);
  const warm = at();
  say(`warm-up: 2 requests of ${numFrames} frames × ${steps} steps, ${(warm / 2).toFixed(2)} s each alone`);

  /** One burst: both tokens send `burst` requests at once; what was predicted against what happened. */
  const round = async (n: number) => {
    const burstAt = at();
    const sent = TOKENS.flatMap((t) => Array.from({ length: burst }, () => generate(t)));
    await new Promise((r) => setTimeout(r, 200));
    const infoAt = at() - burstAt;
    const info = (await (await fetch(`${stack.url}/info`)).json()) as { queue: Record<string, number> };
    const results = await Promise.all(sent);

    const done = results.filter((r) => r.status === 200).map((r) => r.doneAt - burstAt).sort((a, b) => a - b);
    const firstDone = (token?: string): number =>
      Math.min(...results.filter((r) => r.status === 200 && (token === undefined || r.token === token)).map((r) => r.doneAt - burstAt));
    const refused = results
      .filter((r) => r.status === 429)
      .map((r) => {
        // Measured from the refusal, which comes back at once.
        const actual = (r.code === 'SPOOL_ERR_TOKEN_LIMIT' ? firstDone(r.token) : firstDone()) - (r.doneAt - burstAt);
        return { code: r.code, retry_after_s: r.retryAfterS, actual_s: Number(actual.toFixed(2)) };
      });
    // A newcomer behind the queue gets a slot when all but (slots - 1) of the admitted have finished.
    const newcomer = Number((done[done.length - 2] - infoAt).toFixed(2));
    say(`round ${n}: ${done.length} admitted, ${refused.length} refused; finishes (s after the burst): ${done.map((d) => d.toFixed(1)).join(', ')}`);
    for (const r of refused) say(`  ${r.code}: Retry-After ${r.retry_after_s} s; the awaited place freed after ${r.actual_s} s`);
    say(`  /info estimated_wait_s ${info.queue.estimated_wait_s}; a newcomer could have started ${newcomer} s later`);
    return { finishes_s: done.map((d) => Number(d.toFixed(2))), refused, estimated_wait_s: info.queue.estimated_wait_s, newcomer_start_s: newcomer };
  };
  // The first round is estimated from the warm-up (run alone); the second also from the first (run side by side).
  const rounds = [await round(1), await round(2)];

  const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results', `${pkg.manifest.name}-admission.json`));
  mkdirSync(path.dirname(out), { recursive: true });
  const result = { model: pkg.manifest.name, num_frames: numFrames, steps, burst, per_token: perToken, date: new Date().toISOString(), warm_s: warm / 2, rounds };
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  say(`written ${path.relative(process.cwd(), out)}`);
} finally {
  await stack.stop();
}
