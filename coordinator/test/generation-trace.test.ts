/**
 * The generation service's spans, collected by an OTLP/HTTP JSON receiver in
 * the test. A generation started with no trace context (a job, not an HTTP
 * request) is the root span of a trace of its own, named `generation`, with
 * the attributes an operator filters by; admission is its own `queue wait`
 * span; every span of it names the request (and the job); a failed one
 * carries its error code and an error status; prompts appear on the root
 * span only when asked for, and nowhere else.
 */
import { startOtlpReceiver, startTelemetry, type OtlpReceiver, type ReceivedSpan, type Telemetry } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionQueue } from '../src/admission/admission-queue.ts';
import { GenerationService } from '../src/generation/service.ts';
import { FakePipeline, FakeTopology, manifest } from './helpers.ts';

let otlp: OtlpReceiver;
let telemetry: Telemetry;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  // The SDK reads the exporter's settings from the process environment.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = otlp.endpoint;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  telemetry = startTelemetry('spool-coordinator-test');
  expect(telemetry.exporting).toBe(true);
});

afterAll(async () => {
  await telemetry.shutdown();
  await otlp.close();
});

const params = { prompt: 'a fox in the snow at dusk', negativePrompt: 'blurry rain', numFrames: 9, fps: 8, guidanceScale: 6, guidanceRescale: 0, steps: 2, seed: 3 };

function service(opts: { pipeline?: FakePipeline; maxConcurrent?: number; maxQueue?: number; tracePrompts?: boolean } = {}): GenerationService {
  return new GenerationService({
    manifest,
    pipeline: opts.pipeline ?? new FakePipeline(),
    topology: new FakeTopology(),
    admission: new AdmissionQueue({ maxConcurrent: opts.maxConcurrent ?? 1, maxQueue: opts.maxQueue ?? 1 }),
    requestTimeoutMs: 60_000,
    tracePrompts: opts.tracePrompts,
  });
}

type Span = ReceivedSpan;
const isError = (s: Span): boolean => s.status.code === 2;

/** Every span of the trace whose root is the `generation` span of request `id`, once that root has arrived (it ends last). */
async function traceOf(id: string): Promise<{ root: Span; spans: Span[] }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const root = otlp.spans.find((s) => s.name === 'generation' && s.attributes['spool.request_id'] === id);
    if (root) return { root, spans: otlp.spans.filter((s) => s.traceId === root.traceId) };
    if (Date.now() > deadline) throw new Error(`no root span of ${id}; spans: ${otlp.spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Whether any attribute of `span` or of its events contains `text`. */
const mentions = (span: Span, text: string): boolean => JSON.stringify([span.attributes, span.events]).includes(text);

describe('a generation with no trace context', () => {
  it('is the root span of a trace of its own, with its request, its parameters and its steps below it', async () => {
    const done = await service().start({ id: 'job-traced', caller: 'token-0', params }).outcome;
    expect(done.ok).toBe(true);
    const { root, spans } = await traceOf('job-traced');
    expect(root.parentSpanId).toBeUndefined();
    expect(isError(root)).toBe(false);
    expect(root.attributes).toMatchObject({
      'spool.request_id': 'job-traced',
      'spool.caller': 'token-0',
      'spool.model': manifest.name,
      'spool.num_frames': 9,
      'spool.generated_frames': 9,
      'spool.fps': 8,
      'spool.steps': 2,
      'spool.seed': 3,
      'spool.guidance_scale': 6,
      'spool.guidance_rescale': 0,
      'spool.outcome': 'completed',
      'spool.retries': 0,
    });
    expect(root.attributes).not.toHaveProperty('spool.job_id');
    const steps = spans.filter((s) => s.name.startsWith('denoise step '));
    expect(steps.map((s) => s.name).sort()).toEqual(['denoise step 1/2', 'denoise step 2/2']);
    for (const s of steps) expect(s.parentSpanId).toBe(root.spanId);
    // Every span of it names the request.
    for (const s of spans) expect(s.attributes['spool.request_id'], s.name).toBe('job-traced');
  });

  it('makes admission its own queue wait span, from arrival until the slot, before the first step', async () => {
    await service().start({ id: 'job-at-once', caller: 'token-0', params }).outcome;
    const { root, spans } = await traceOf('job-at-once');
    const waits = spans.filter((s) => s.name === 'queue wait');
    expect(waits).toHaveLength(1);
    const [wait] = waits;
    expect(wait.parentSpanId).toBe(root.spanId);
    expect(wait.attributes).toMatchObject({ 'spool.request_id': 'job-at-once', 'spool.queued': false, 'spool.queue.running': 0, 'spool.queue.waiting': 0 });
    expect(typeof wait.attributes['spool.queue.expected_wait_ms']).toBe('number');
    expect(wait.attributes).not.toHaveProperty('spool.queue.position');
    const firstStep = spans.find((s) => s.name === 'denoise step 1/2')!;
    // A span's start is read from Date.now() (whole ms), its end from the monotonic clock: allow that millisecond.
    expect(wait.startMs + 1).toBeGreaterThanOrEqual(root.startMs);
    expect(wait.endMs).toBeLessThanOrEqual(firstStep.startMs + 1);
  });

  it('records the place in the queue of a generation that waited, and the refusal of one that found the queue full', async () => {
    const pipeline = new FakePipeline();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    pipeline.hooks.denoise = () => held;
    const svc = service({ pipeline, maxConcurrent: 1, maxQueue: 1 });
    const first = svc.start({ id: 'job-first', caller: 'token-0', params });
    await first.accepted;
    const second = svc.start({ id: 'job-second', caller: 'token-1', params });
    await second.accepted;
    const third = await svc.start({ id: 'job-third', caller: 'token-2', params }).outcome;
    release();
    const [a, b] = await Promise.all([first.outcome, second.outcome]);
    expect([a.ok, b.ok, third.ok]).toEqual([true, true, false]);

    const queued = (await traceOf('job-second')).spans.find((s) => s.name === 'queue wait')!;
    expect(queued.attributes).toMatchObject({ 'spool.queued': true, 'spool.queue.position': 1, 'spool.queue.running': 1, 'spool.queue.waiting': 0 });
    expect(isError(queued)).toBe(false);

    const refused = await traceOf('job-third');
    const wait = refused.spans.find((s) => s.name === 'queue wait')!;
    expect(isError(wait)).toBe(true);
    expect(wait.attributes).toMatchObject({ 'spool.error_code': 'SPOOL_ERR_QUEUE_FULL', 'spool.queued': false, 'spool.queue.running': 1, 'spool.queue.waiting': 1 });
    expect(refused.root.attributes).toMatchObject({ 'spool.outcome': 'failed', 'spool.error_code': 'SPOOL_ERR_QUEUE_FULL' });
    expect(refused.spans.filter((s) => s.name.startsWith('denoise step'))).toEqual([]);
  });

  it('names the job on every span when a job started it', async () => {
    await service().start({ id: 'req-of-job', jobId: 'video_123', caller: 'token-0', params }).outcome;
    const { spans } = await traceOf('req-of-job');
    expect(spans.length).toBeGreaterThan(3);
    for (const s of spans) expect(s.attributes['spool.job_id'], s.name).toBe('video_123');
  });

  it('ends a failed generation with its error code and an error status', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.encode = () => {
      throw new Error('encoder broke');
    };
    const failed = await service({ pipeline }).start({ id: 'job-failed', caller: 'token-0', params }).outcome;
    expect(failed.ok).toBe(false);
    const { root } = await traceOf('job-failed');
    expect(root.attributes).toMatchObject({ 'spool.error_code': 'SPOOL_ERR_INTERNAL', 'spool.outcome': 'failed' });
    expect(isError(root)).toBe(true);
  });

  it('puts no prompt text on any span by default', async () => {
    await service().start({ id: 'job-private', caller: 'token-0', params }).outcome;
    const { spans } = await traceOf('job-private');
    expect(spans.length).toBeGreaterThan(3);
    for (const s of otlp.spans) {
      expect(mentions(s, params.prompt), `${s.name} carries the prompt`).toBe(false);
      expect(mentions(s, params.negativePrompt), `${s.name} carries the negative prompt`).toBe(false);
    }
  });

  it('puts the prompts on the root span alone when asked to', async () => {
    const prompt = 'a lighthouse of glass 42';
    await service({ tracePrompts: true }).start({ id: 'job-open', caller: 'token-0', params: { ...params, prompt, negativePrompt: 'fog of brass' } }).outcome;
    await service({ tracePrompts: true }).start({ id: 'job-open-plain', caller: 'token-0', params: { ...params, prompt, negativePrompt: undefined } }).outcome;
    const { root, spans } = await traceOf('job-open');
    expect(root.attributes).toMatchObject({ 'spool.prompt': prompt, 'spool.negative_prompt': 'fog of brass' });
    for (const s of spans.filter((x) => x !== root)) expect(mentions(s, prompt) || mentions(s, 'fog of brass'), s.name).toBe(false);
    const plain = await traceOf('job-open-plain');
    expect(plain.root.attributes['spool.prompt']).toBe(prompt);
    expect(plain.root.attributes).not.toHaveProperty('spool.negative_prompt');
  });
});
