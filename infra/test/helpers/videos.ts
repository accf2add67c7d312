/**
 * The jobs API on a test bench: the coordinator app (`build`) with the fake
 * pipeline and topology of the coordinator's route tests, a real generation
 * service, and a job service over a real job store on a nats-server with
 * JetStream and the bus's authorization. Every app shares the bus's buckets;
 * each test takes tokens of its own (`tokens()`), so no test sees another's jobs.
 */
import { createLogger } from '@spool/shared';
import {
  AdmissionQueue,
  build,
  Drain,
  GenerationService,
  InFlight,
  JobService,
  StepBatcher,
  type AdmissionLimits,
  type JobServiceOptions,
  type JobStore,
  type VideoObject,
} from '@spool/coordinator';
import { FakePipeline, FakeTopology, fakeSystemInfo, manifest } from '../../../coordinator/test/helpers.ts';
import { startJobBus, type JobBus } from './job-bus.ts';
import { untilHolds } from './until.ts';

type FastifyInstance = ReturnType<typeof build>;

/** As many tokens as the tests of one file use, two each. */
const TOKENS = Array.from({ length: 64 }, (_, i) => `videos-test-token-${String(i).padStart(2, '0')}-abcdef`);

export interface Bench {
  readonly app: FastifyInstance;
  readonly jobs: JobService;
  readonly generation: GenerationService;
  readonly pipeline: FakePipeline;
  readonly topology: FakeTopology;
  readonly drain: Drain;
  readonly inFlight: InFlight;
  close(): Promise<void>;
}

export interface BenchOptions {
  readonly limits?: Partial<AdmissionLimits>;
  readonly jobs?: Partial<Omit<JobServiceOptions, 'generation' | 'manifest'>>;
  /** Another store than the bus's (a wrapper of it); `null` for none. */
  readonly store?: JobStore | null;
  readonly heartbeatMs?: number;
}

export interface VideosBus {
  readonly bus: JobBus;
  readonly store: JobStore;
  bench(opts?: BenchOptions): Bench;
  /** Authorization headers of two tokens no other test of the file uses. */
  tokens(): { a: Record<string, string>; b: Record<string, string> };
  stop(): Promise<void>;
}

export async function startVideosBus(): Promise<VideosBus> {
  const bus = await startJobBus(manifest.name);
  const store = await bus.openStore();
  const benches: Bench[] = [];
  let next = 0;
  return {
    bus,
    store,
    bench(opts = {}) {
      const pipeline = new FakePipeline();
      const topology = new FakeTopology();
      const drain = new Drain(7);
      const inFlight = new InFlight();
      const admission = new AdmissionQueue({ maxConcurrent: 2, maxQueue: 8, maxPerCaller: 10, ...opts.limits });
      const generation = new GenerationService({
        manifest,
        pipeline,
        topology,
        admission,
        // Every call goes alone and at once; aborts still go through the batcher.
        batcher: new StepBatcher(pipeline, { windowMs: 0, maxBatch: 1 }),
        inFlight,
        drain,
        requestTimeoutMs: 60_000,
      });
      const jobs = new JobService({ generation, manifest, store: opts.store === null ? undefined : (opts.store ?? store), writeIntervalMs: 20, pollMs: 50, retryMs: 50, ...opts.jobs });
      const app = build({
        manifest,
        topology,
        apiTokens: TOKENS,
        generation,
        jobs,
        systemInfo: fakeSystemInfo,
        log: createLogger('test', { SPOOL_LOG_LEVEL: 'silent' }),
        sseHeartbeatMs: opts.heartbeatMs ?? 60_000,
        jobCountCacheMs: 0,
      });
      const bench: Bench = { app, jobs, generation, pipeline, topology, drain, inFlight, close: () => app.close() };
      benches.push(bench);
      return bench;
    },
    tokens() {
      const header = (i: number): Record<string, string> => ({ authorization: `Bearer ${TOKENS[i]}` });
      const at = next;
      next += 2;
      if (next > TOKENS.length) throw new Error('more tokens are needed: raise TOKENS in helpers/videos.ts');
      return { a: header(at), b: header(at + 1) };
    },
    async stop() {
      for (const b of benches) await b.close().catch(() => undefined);
      await bus.stop();
    },
  };
}

/** A promise and the function that settles it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

export const json = { 'content-type': 'application/json' };

/** POST /v1/videos. */
export function create(app: FastifyInstance, headers: Record<string, string>, body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/videos', headers: { ...json, ...headers }, payload: JSON.stringify(body) });
}

/** GET /v1/videos/{id} until `done` holds of it. */
export async function pollUntil(app: FastifyInstance, headers: Record<string, string>, id: string, done: (v: VideoObject) => boolean): Promise<VideoObject> {
  let last: VideoObject | undefined;
  await untilHolds(`job ${id} reaches the state waited for (last: ${JSON.stringify(last?.status)})`, async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/videos/${id}`, headers });
    last = res.json() as VideoObject;
    return res.statusCode === 200 && done(last);
  });
  return last!;
}

export interface ParsedEvent {
  readonly event: string;
  readonly data: Record<string, unknown>;
}

/** The events of a text/event-stream body; comment lines are counted apart. */
export function parseEvents(text: string): { events: ParsedEvent[]; comments: number } {
  const events: ParsedEvent[] = [];
  let comments = 0;
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments++;
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
  }
  return { events, comments };
}
