/**
 * The service measured through its real path: a local stack (nats-server,
 * worker processes, coordinator) and HTTP requests. Bounded in requests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelPackage } from '@spool/shared';
import { DEFAULT_LAYOUT, loadLayout, modelFacts, REPO_ROOT, startStack } from '@spool/infra';
import { ratio, time, type Timing } from './stats.ts';

export interface ServiceRun {
  readonly shards: number;
  readonly max_concurrent: number;
  readonly latency: Timing;
  readonly sequential_ms: number;
  readonly concurrent_ms: number;
  /** Requests per second, concurrent over sequential. */
  readonly concurrency_speedup: number;
}

export interface ServiceBenchOptions {
  readonly modelDir: string;
  readonly shards: number;
  readonly maxConcurrent: number;
  readonly numFrames: number;
  readonly steps: number;
  readonly runs: number;
  readonly requests: number;
  readonly env?: Record<string, string>;
}

const TOKEN = 'bench-token-0123456789';

export async function measureService(o: ServiceBenchOptions): Promise<ServiceRun> {
  const logDir = mkdtempSync(path.join(tmpdir(), 'spool-bench-'));
  // The layout of `npm start`, with the denoiser in o.shards shards (as SPOOL_SHARDS would).
  const layout = loadLayout({
    file: path.join(REPO_ROOT, DEFAULT_LAYOUT),
    model: modelFacts(loadModelPackage(o.modelDir).manifest),
    shorthands: { shards: o.shards },
  });
  const stack = await startStack({
    modelDir: o.modelDir,
    layout,
    tokens: [TOKEN],
    port: 0,
    logDir,
    env: { SPOOL_LOG_LEVEL: 'warn', ...o.env },
    // The service's speed, not its limits: no per-token rate limit.
    coordinatorEnv: { SPOOL_MAX_CONCURRENT: String(o.maxConcurrent), SPOOL_MAX_QUEUE: String(o.requests * 2), SPOOL_RATE_LIMIT: '0' },
  });
  try {
    let seed = 0;
    const one = async (): Promise<void> => {
      const res = await fetch(`${stack.url}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'a red circle moving left on a blue background', num_frames: o.numFrames, num_inference_steps: o.steps, seed: seed++ }),
      });
      if (res.status !== 200) throw new Error(`generate answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    const latency = await time(o.runs, one);
    const t0 = performance.now();
    for (let i = 0; i < o.requests; i++) await one();
    const sequential_ms = Math.round(performance.now() - t0);
    const t1 = performance.now();
    await Promise.all(Array.from({ length: o.requests }, one));
    const concurrent_ms = Math.round(performance.now() - t1);
    return {
      shards: o.shards,
      max_concurrent: o.maxConcurrent,
      latency,
      sequential_ms,
      concurrent_ms,
      concurrency_speedup: ratio(sequential_ms, concurrent_ms),
    };
  } finally {
    await stack.stop();
    rmSync(logDir, { recursive: true, force: true });
  }
}
