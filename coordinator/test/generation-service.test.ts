/**
 * The generation service on its own, with the fake pipelines and topology of
 * helpers.ts and a real admission queue, step batcher, board, in-flight set
 * and drain: the events a generation sends, cancel (queued and running), the
 * deadline, a drain, admission refusals, the fail-fast stage check, and that
 * everything a generation holds is given back exactly once on every path.
 */
import { isSpoolError, wireError } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { AdmissionQueue, AdmissionRefusedError, type Slot } from '../src/admission/admission-queue.ts';
import type { AdmissionLimits, Job } from '../src/admission/admission.ts';
import { StepBatcher } from '../src/batching/step-batcher.ts';
import { coordinatorError, RefusedError } from '../src/errors.ts';
import type { Generation, GenerationEvent, GenerationFailure } from '../src/generation/generation.ts';
import { RequestBoard, type BoardEntry } from '../src/generation/request-board.ts';
import { GenerationService, type GenerationServiceOptions } from '../src/generation/service.ts';
import { Drain } from '../src/lifecycle/drain.ts';
import { InFlight } from '../src/lifecycle/in-flight.ts';
import type { GenerationParams } from '../src/pipeline/runner.ts';
import { FAKE_MP4, FakePipeline, FakeTopology, manifest, worker } from './helpers.ts';

const params = (over: Partial<GenerationParams> = {}): GenerationParams => ({
  prompt: 'a fox in the snow',
  numFrames: 9,
  fps: 8,
  guidanceScale: 6,
  guidanceRescale: 0,
  steps: 3,
  seed: 7,
  ...over,
});

/** Counts what is handed back: in-flight records left, board entries removed, admission slots released. */
class CountingInFlight extends InFlight {
  leaves = 0;
  override add(ac: AbortController): () => void {
    const leave = super.add(ac);
    return () => {
      this.leaves++;
      leave();
    };
  }
}

class CountingBoard extends RequestBoard {
  removes = 0;
  override add(id: string, job: { steps: number; numFrames: number }, caller?: string): BoardEntry {
    const entry = super.add(id, job, caller);
    return {
      update: (state, step) => entry.update(state, step),
      remove: () => {
        this.removes++;
        entry.remove();
      },
    };
  }
}

class CountingAdmission extends AdmissionQueue {
  slots = 0;
  releases = 0;
  override async acquire(job: Job, signal?: AbortSignal, onQueued?: (position: number) => void): Promise<Slot> {
    const slot = await super.acquire(job, signal, onQueued);
    this.slots++;
    return {
      release: (opts) => {
        this.releases++;
        slot.release(opts);
      },
    };
  }
}

interface Setup {
  pipeline?: FakePipeline;
  topology?: FakeTopology;
  limits?: Partial<AdmissionLimits>;
  requestTimeoutMs?: number;
  drain?: Drain;
  log?: GenerationServiceOptions['log'];
}

function setup(over: Setup = {}) {
  const pipeline = over.pipeline ?? new FakePipeline();
  const admission = new CountingAdmission({ maxConcurrent: 1, maxQueue: 4, ...over.limits });
  const board = new CountingBoard();
  const inFlight = new CountingInFlight();
  const drain = over.drain ?? new Drain(7);
  const service = new GenerationService({
    manifest,
    pipeline,
    topology: over.topology ?? new FakeTopology(),
    admission,
    // Every call goes alone and at once, as with SPOOL_BATCH_WINDOW_MS=0; aborts still go through the batcher.
    batcher: new StepBatcher(pipeline, { windowMs: 0, maxBatch: 1 }),
    board,
    inFlight,
    drain,
    requestTimeoutMs: over.requestTimeoutMs ?? 60_000,
    log: over.log,
  });
  let n = 0;
  const start = (p: Partial<GenerationParams> = {}, caller = 'token-0'): Generation => service.start({ id: `g${++n}`, caller, params: params(p) });
  /** Nothing is held any more, and each thing held was handed back once. */
  const expectReleased = (held: { slots: number; generations: number }): void => {
    expect(inFlight.size).toBe(0);
    expect(service.size).toBe(0);
    expect(service.list()).toEqual([]);
    expect([admission.running, admission.waiting]).toEqual([0, 0]);
    expect(inFlight.leaves).toBe(held.generations);
    expect(board.removes).toBe(held.generations);
    expect([admission.slots, admission.releases]).toEqual([held.slots, held.slots]);
  };
  return { service, pipeline, admission, board, inFlight, drain, start, expectReleased };
}

const label = (e: GenerationEvent): string => `${e.type}:${e.state}:${e.step}/${e.steps}`;

/** A promise and the function that settles it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Resolves at the first event that `match` accepts. */
function when(g: Generation, match: (e: GenerationEvent) => boolean): Promise<GenerationEvent> {
  return new Promise((resolve) => {
    const stop = g.subscribe((e) => {
      if (match(e)) {
        resolve(e);
        queueMicrotask(() => stop());
      }
    });
  });
}

async function failure(g: Generation): Promise<GenerationFailure> {
  const outcome = await g.outcome;
  if (outcome.ok) throw new Error(`generation ${g.id} completed; a failure was expected`);
  return outcome;
}

describe('a generation that completes', () => {
  it('sends each phase change and each step in order, then one end; a late subscriber gets the current state first', async () => {
    const { start, pipeline, expectReleased } = setup();
    const g = start({ steps: 3 });
    const early: string[] = [];
    const late: string[] = [];
    let lateStop: (() => void) | undefined;
    g.subscribe((e) => {
      early.push(label(e));
      if (e.type === 'step' && e.step === 2) lateStop = g.subscribe((l) => late.push(label(l)));
    });
    const iterated: string[] = [];
    const iterating = (async () => {
      for await (const e of g.events()) iterated.push(label(e));
    })();

    const outcome = await g.outcome;
    await iterating;
    const all = ['phase:queued:0/3', 'phase:encoding:0/3', 'phase:denoising:0/3', 'step:denoising:1/3', 'step:denoising:2/3', 'step:denoising:3/3', 'phase:decoding:3/3', 'end:completed:3/3'];
    expect(early).toEqual(all);
    expect(iterated).toEqual(all);
    expect(late).toEqual(['phase:denoising:2/3', 'step:denoising:3/3', 'phase:decoding:3/3', 'end:completed:3/3']);
    lateStop?.();

    // After the end, a subscriber gets the end alone.
    const after: GenerationEvent[] = [];
    g.subscribe((e) => after.push(e));
    expect(after.map(label)).toEqual(['end:completed:3/3']);
    expect(after[0]).not.toHaveProperty('error');

    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(new Uint8Array(outcome.video.mp4)).toEqual(FAKE_MP4);
    expect([outcome.seed, outcome.retries, outcome.promptTruncated, outcome.video.frames]).toEqual([7, 0, false, 9]);
    expect(await g.accepted).toEqual({ ok: true });
    expect([g.state, g.progress]).toEqual(['completed', { phase: 'decoding', step: 3, steps: 3 }]);
    expect(pipeline.calls.prompts).toEqual([['', 'a fox in the snow']]);
    expect(pipeline.calls.denoise).toHaveLength(3);
    expectReleased({ slots: 1, generations: 1 });
  });

  it('ends an events() iterator when its signal aborts or the loop leaves early, and stops telling it', async () => {
    const pipeline = new FakePipeline();
    const held = gate();
    pipeline.hooks.denoise = (n) => (n === 2 ? held.wait : undefined);
    const { start } = setup({ pipeline });
    const g = start({ steps: 4 });
    const ac = new AbortController();
    const untilAbort: string[] = [];
    const aborted = (async () => {
      for await (const e of g.events(ac.signal)) {
        untilAbort.push(label(e));
        if (e.type === 'step') ac.abort();
      }
    })();
    const firstOnly: string[] = [];
    for await (const e of g.events()) {
      firstOnly.push(label(e));
      break;
    }
    await aborted;
    expect(untilAbort).toEqual(['phase:queued:0/4', 'phase:encoding:0/4', 'phase:denoising:0/4', 'step:denoising:1/4']);
    expect(firstOnly).toEqual(['phase:queued:0/4']);
    held.open();
    expect((await g.outcome).ok).toBe(true);
    expect(untilAbort).toHaveLength(4);
  });

  it('keeps going when a listener throws, and reports the listener', async () => {
    const warned: string[] = [];
    const { start } = setup({ log: { debug: () => undefined, info: () => undefined, warn: (_o, msg) => warned.push(String(msg)) } });
    const g = start();
    g.subscribe((e) => {
      if (e.type === 'step') throw new Error('a broken listener');
    });
    const seen: string[] = [];
    g.subscribe((e) => seen.push(e.type));
    expect((await g.outcome).ok).toBe(true);
    expect(seen.filter((t) => t === 'step')).toHaveLength(3);
    expect(warned).toEqual([`a listener of generation ${g.id} failed`, `a listener of generation ${g.id} failed`, `a listener of generation ${g.id} failed`]);
  });

  it('tells observers of every generation at its start, a refused one too, until they unsubscribe; one that throws disturbs nothing', async () => {
    const warned: string[] = [];
    const { service, start, drain } = setup({ log: { debug: () => undefined, info: () => undefined, warn: (_o, msg) => warned.push(String(msg)) } });
    const seen: string[] = [];
    service.observe(() => {
      throw new Error('a broken observer');
    });
    const stop = service.observe((g) => {
      seen.push(`${g.id}:${g.state}`);
      g.subscribe((e) => {
        if (e.type === 'end') seen.push(`${g.id}:${e.state}`);
      });
    });
    const ok = start();
    expect((await ok.outcome).ok).toBe(true);
    drain.begin();
    const refused = start();
    await refused.outcome;
    stop();
    start();
    expect(seen).toEqual(['g1:queued', 'g1:completed', 'g2:queued', 'g2:failed']);
    expect(warned).toEqual(['an observer of generation g1 failed', 'an observer of generation g2 failed', 'an observer of generation g3 failed']);
  });

  it('is listed while held, found by id, and refuses a second generation with the same id', async () => {
    const pipeline = new FakePipeline();
    const held = gate();
    pipeline.hooks.denoise = (n) => (n === 1 ? held.wait : undefined);
    const { service } = setup({ pipeline });
    const g = service.start({ id: 'job-1', caller: 'token-1', params: params({ steps: 2 }) });
    await when(g, (e) => e.state === 'denoising');
    expect(service.get('job-1')).toBe(g);
    expect(() => service.start({ id: 'job-1', caller: 'token-1', params: params() })).toThrow(/already held/);
    expect(service.list('token-1')).toMatchObject([{ id: 'job-1', state: 'denoising', step: 0, steps: 2, num_frames: 9 }]);
    expect(service.list('token-0')).toEqual([]);
    held.open();
    await g.outcome;
    expect(service.get('job-1')).toBeUndefined();
  });
});

describe('cancel', () => {
  it('takes a queued generation out of the queue; it never reaches a stage', async () => {
    const pipeline = new FakePipeline();
    const held = gate();
    pipeline.hooks.denoise = (n) => (n === 1 ? held.wait : undefined);
    const { start, admission, expectReleased } = setup({ pipeline });
    const first = start({ prompt: 'first' });
    await when(first, (e) => e.state === 'denoising');
    const second = start({ prompt: 'second' });
    expect(await second.accepted).toEqual({ ok: true });
    expect([admission.running, admission.waiting, second.state]).toEqual([1, 1, 'queued']);

    const events: string[] = [];
    second.subscribe((e) => events.push(label(e)));
    expect(second.cancel('no longer wanted')).toBe(true);
    expect(second.cancel()).toBe(false);
    const out = await failure(second);
    expect(out.state).toBe('cancelled');
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_CANCELLED', status: 499, message: 'no longer wanted' });
    expect(events).toEqual(['phase:queued:0/3', 'end:cancelled:0/3']);
    expect([second.state, admission.waiting]).toEqual(['cancelled', 0]);

    held.open();
    expect((await first.outcome).ok).toBe(true);
    expect(pipeline.calls.prompts.map((p) => p[1])).toEqual(['first']);
    expectReleased({ slots: 1, generations: 2 });
  });

  it('stops a denoising generation before its next step and frees its slot for the next in the queue', async () => {
    const { start, pipeline, admission, expectReleased } = setup();
    const g = start({ steps: 20 });
    const next = start({ prompt: 'next', steps: 2 });
    g.subscribe((e) => {
      if (e.type === 'step' && e.step === 2) g.cancel('stop here');
    });
    const out = await failure(g);
    expect(out.state).toBe('cancelled');
    expect(out.error.code).toBe('SPOOL_ERR_CANCELLED');
    expect(g.progress).toEqual({ phase: 'denoising', step: 2, steps: 20 });
    // The cancelled one made exactly its two steps; the next one then ran its own two.
    expect((await next.outcome).ok).toBe(true);
    expect(pipeline.calls.denoise).toHaveLength(4);
    expect(pipeline.calls.decode).toHaveLength(1);
    // Only a completed run teaches admission how long runs take.
    expect(admission.serviceModel.samples).toBe(1);
    expectReleased({ slots: 2, generations: 2 });
  });

  it('stops a generation whose denoiser call is in flight without waiting for the call', async () => {
    const pipeline = new FakePipeline();
    const never = gate();
    pipeline.hooks.denoise = (n) => (n === 2 ? never.wait : undefined);
    const { start, expectReleased } = setup({ pipeline });
    const g = start({ steps: 5 });
    await when(g, (e) => e.type === 'step' && e.step === 1);
    await new Promise((r) => setImmediate(r));
    expect(pipeline.calls.denoise).toHaveLength(2);
    g.cancel();
    const out = await failure(g);
    expect([out.state, out.error.code, g.progress.step]).toEqual(['cancelled', 'SPOOL_ERR_CANCELLED', 1]);
    expectReleased({ slots: 1, generations: 1 });
    never.open();
  });
});

describe('the deadline', () => {
  it('fails a running generation with 504 SPOOL_ERR_DEADLINE', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.denoise = () => new Promise((r) => setTimeout(r, 20));
    const { start, expectReleased } = setup({ pipeline, requestTimeoutMs: 60 });
    const out = await failure(start({ steps: 100 }));
    expect(out.state).toBe('failed');
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_DEADLINE', status: 504, message: 'the request did not finish within 60 ms (SPOOL_REQUEST_TIMEOUT_MS)' });
    expect(pipeline.calls.denoise.length).toBeLessThan(100);
    expect(pipeline.calls.decode).toHaveLength(0);
    expectReleased({ slots: 1, generations: 1 });
  });

  it('takes a queued generation out of the queue when its deadline passes there', async () => {
    const { start, admission, pipeline, expectReleased } = setup({ requestTimeoutMs: 30 });
    // The only slot, held by something with no deadline of its own.
    const holder = await admission.acquire({ caller: 'token-9', work: 1 });
    const g = start();
    expect(await g.accepted).toEqual({ ok: true });
    expect(admission.waiting).toBe(1);
    const out = await failure(g);
    expect(out.error.code).toBe('SPOOL_ERR_DEADLINE');
    expect([g.state, g.progress.phase, admission.waiting]).toEqual(['failed', 'queued', 0]);
    expect(pipeline.calls.prompts).toHaveLength(0);
    holder.release();
    expectReleased({ slots: 1, generations: 1 });
  });
});

describe('a drain', () => {
  it('refuses new generations with 503 SPOOL_ERR_SHUTTING_DOWN and Retry-After, and lets the held ones finish', async () => {
    const pipeline = new FakePipeline();
    const held = gate();
    pipeline.hooks.denoise = (n) => (n === 1 ? held.wait : undefined);
    const { service, start, drain, expectReleased } = setup({ pipeline });
    const running = start();
    await when(running, (e) => e.state === 'denoising');
    const queued = start({ prompt: 'queued' });
    expect(service.refusal()).toBeUndefined();

    drain.begin();
    const refused = start({ prompt: 'refused' });
    const out = await failure(refused);
    expect(out.state).toBe('failed');
    expect(out.error).toBeInstanceOf(RefusedError);
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_SHUTTING_DOWN', status: 503, retryAfterS: 7 });
    expect(out.error.message).toMatch(/finishing the 2 request\(s\) it had admitted/);
    expect(await refused.accepted).toEqual({ ok: false, error: out.error });
    expect(service.get(refused.id)).toBeUndefined();
    expect(service.refusal()?.code).toBe('SPOOL_ERR_SHUTTING_DOWN');

    held.open();
    expect((await running.outcome).ok).toBe(true);
    expect((await queued.outcome).ok).toBe(true);
    expect(pipeline.calls.prompts.map((p) => p[1])).toEqual(['a fox in the snow', 'queued']);
    expectReleased({ slots: 2, generations: 2 });
  });

  it('fails what is left with the error a shutdown aborts it with, as failed (not cancelled)', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.denoise = () => new Promise((r) => setTimeout(r, 5));
    const { start, inFlight, expectReleased } = setup({ pipeline });
    const g = start({ steps: 100 });
    await when(g, (e) => e.type === 'step');
    inFlight.abortAll(coordinatorError('SPOOL_ERR_SHUTTING_DOWN', 'the drain period is over'));
    const out = await failure(g);
    expect([out.state, out.error.code]).toEqual(['failed', 'SPOOL_ERR_SHUTTING_DOWN']);
    expectReleased({ slots: 1, generations: 1 });
  });
});

describe('refusals before the run', () => {
  it('a full queue: 429 SPOOL_ERR_QUEUE_FULL with Retry-After, told through accepted', async () => {
    const pipeline = new FakePipeline();
    const held = gate();
    pipeline.hooks.denoise = (n) => (n === 1 ? held.wait : undefined);
    const { start, expectReleased } = setup({ pipeline, limits: { maxConcurrent: 1, maxQueue: 0 } });
    const running = start();
    expect(await running.accepted).toEqual({ ok: true });
    const refused = start({ prompt: 'refused' });
    const accepted = await refused.accepted;
    expect(accepted.ok).toBe(false);
    const out = await failure(refused);
    expect(out.error).toBeInstanceOf(AdmissionRefusedError);
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_QUEUE_FULL', status: 429, reason: 'queue-full' });
    expect((out.error as RefusedError).retryAfterS).toBeGreaterThanOrEqual(1);
    expect(out.state).toBe('failed');
    held.open();
    await running.outcome;
    expectReleased({ slots: 1, generations: 2 });
  });

  it('the rate limit: 429 SPOOL_ERR_RATE_LIMITED for the caller past its burst, not for another caller', async () => {
    const { start, expectReleased } = setup({ limits: { rate: { perMinute: 1, burst: 1 } } });
    expect((await start({}, 'token-0').outcome).ok).toBe(true);
    const out = await failure(start({}, 'token-0'));
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_RATE_LIMITED', status: 429, retryAfterS: 60 });
    expect((await start({}, 'token-1').outcome).ok).toBe(true);
    expectReleased({ slots: 2, generations: 3 });
  });

  it('a missing stage: 503 SPOOL_ERR_STAGE_UNAVAILABLE naming it, before admission or any stage', async () => {
    const topology = new FakeTopology([worker('text-encoder'), worker('denoiser', 0), worker('vae-decoder'), worker('video-encoder')]);
    const { start, pipeline, admission, expectReleased } = setup({ topology });
    const g = start();
    const out = await failure(g);
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_STAGE_UNAVAILABLE', stage: 'denoise.1', message: 'cannot generate: blocks 1:2 have no live worker (denoise.1)' });
    expect(await g.accepted).toEqual({ ok: false, error: out.error });
    expect(topology.fresh).toBe(1);
    expect(pipeline.calls.prompts).toHaveLength(0);
    expect(admission.slots).toBe(0);
    expectReleased({ slots: 0, generations: 1 });
  });
});

describe('failures in the run', () => {
  it('a stage error ends it failed with that typed error', async () => {
    const pipeline = new FakePipeline();
    pipeline.hooks.decode = () => {
      throw wireError('SPOOL_ERR_STAGE_FAILED', 'vae-decoder: out of memory', { stage: 'vae-decoder' });
    };
    const { start, admission, expectReleased } = setup({ pipeline });
    const events: string[] = [];
    const g = start();
    g.subscribe((e) => events.push(e.type === 'end' ? `end:${e.state}:${e.error?.code}` : label(e)));
    const out = await failure(g);
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_STAGE_FAILED', status: 502, stage: 'vae-decoder' });
    expect(events.slice(-2)).toEqual(['phase:decoding:3/3', 'end:failed:SPOOL_ERR_STAGE_FAILED']);
    expect(admission.serviceModel.samples).toBe(0);
    expectReleased({ slots: 1, generations: 1 });
  });

  it('anything else ends it failed with a 500 SPOOL_ERR_INTERNAL that keeps the cause and shows no internals', async () => {
    const pipeline = new FakePipeline();
    const bug = new TypeError('cannot read properties of undefined (secret detail)');
    pipeline.hooks.encode = () => {
      throw bug;
    };
    const { start, expectReleased } = setup({ pipeline });
    const out = await failure(start());
    expect(isSpoolError(out.error)).toBe(true);
    expect(out.error).toMatchObject({ code: 'SPOOL_ERR_INTERNAL', status: 500 });
    expect(out.error.message).not.toContain('secret');
    expect(out.error.cause).toBe(bug);
    expectReleased({ slots: 1, generations: 1 });
  });
});
