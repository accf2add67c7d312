/**
 * The generation service: the one lifecycle of a generation, whatever surface
 * started it (POST /generate now; jobs, a playground or a CLI later).
 * `start()` returns at once with the `Generation` record; the rest runs on
 * its own:
 *
 *   refused while draining ─────────────────────────────┐
 *   hold: deadline timer, in-flight record, board entry │
 *   fail fast: every stage live (topology)              │
 *   admission: a slot now, a place in the queue, or 429 │
 *   the runner: encoding → denoising (steps) → decoding │
 *   release: slot, board entry, in-flight record, timer │ (each exactly once)
 *   end: completed | failed | cancelled ────────────────┘
 *
 * Cancel, the deadline (SPOOL_REQUEST_TIMEOUT_MS, queueing included) and a
 * shutdown's abort all go through one AbortController: a queued generation
 * leaves the queue, a running one stops within one step. The decisions stay
 * where they are pure (admission state, the batching plan, the sampler);
 * this file is the glue. It knows nothing of HTTP.
 *
 * Tracing: the generation runs in the trace context it is given (an HTTP
 * request's span) or as the root span `generation` of a trace of its own.
 * That root span gets `rootAttributes`; every span below it carries the
 * request id (and job id); the admission part is its own `queue wait` span.
 */
import { context, ROOT_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';
import { commonAttributes, isSpoolError, planFrames, SpoolError, tracer, wireError, withCommonAttributes, type ModelManifest } from '@spool/shared';
import type { AdmissionQueue, Slot } from '../admission/admission-queue.ts';
import type { StepBatcher } from '../batching/step-batcher.ts';
import { coordinatorError, RefusedError } from '../errors.ts';
import { Drain } from '../lifecycle/drain.ts';
import { InFlight } from '../lifecycle/in-flight.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { withTallies, type RetryTally } from '../pipeline/retry-tally.ts';
import { markFailed } from '../pipeline/spans.ts';
import { runGeneration, type GenerationParams, type RunLog } from '../pipeline/runner.ts';
import { describeMissing, type Topology } from '../topology.ts';
import { GenerationRecord, type Generation, type GenerationOutcome } from './generation.ts';
import { RequestBoard, type RequestSummary } from './request-board.ts';
import { rootAttributes } from './span-attributes.ts';

/** What the service logs: the runner's lines, and listeners that throw. */
export interface GenerationLog extends RunLog {
  warn(obj: object, msg?: string): void;
}

export interface GenerationServiceOptions {
  readonly manifest: ModelManifest;
  readonly pipeline: Pipeline;
  readonly topology: Topology;
  readonly admission: AdmissionQueue;
  /** Sends the denoiser calls, merged across generations; straight to the pipeline when absent. */
  readonly batcher?: StepBatcher;
  /** The listing of GET /requests; one is made when not given. */
  readonly board?: RequestBoard;
  /** Generations held now, for shutdown to wait for or abort; one is made when not given. */
  readonly inFlight?: InFlight;
  /** Once draining, `start()` refuses with 503 SPOOL_ERR_SHUTTING_DOWN; one is made when not given. */
  readonly drain?: Drain;
  /** Bound on a whole generation, queueing included (SPOOL_REQUEST_TIMEOUT_MS). */
  readonly requestTimeoutMs: number;
  /** Without one the service logs nothing. */
  readonly log?: GenerationLog;
  /**
   * Put the prompt and negative prompt on the generation's root span
   * (`spool.prompt`, `spool.negative_prompt`; SPOOL_TRACE_PROMPTS=1). Off by
   * default: no span carries prompt text then.
   */
  readonly tracePrompts?: boolean;
}

export interface StartRequest {
  /** Unique among the generations held now: the request id. */
  readonly id: string;
  /** The job this generation runs for, when a job started it: every span of the generation carries it as `spool.job_id`. */
  readonly jobId?: string;
  /** Who asked (`token-<n>`). */
  readonly caller: string;
  /** Validated, with the manifest's defaults and a seed filled in. */
  readonly params: GenerationParams;
  /**
   * The trace context to run in (an HTTP request's span); its span gets the
   * `spool.*` attributes. Without one the generation is the root span of a
   * trace of its own, named `generation`.
   */
  readonly trace?: Context;
  /** Where the runner logs (a request's logger); the service's when absent. */
  readonly log?: RunLog;
}

/** Told of each generation as it starts (metrics, a jobs store): it may subscribe to its events. */
export type GenerationObserver = (generation: Generation) => void;

const SILENT: GenerationLog = { debug: () => undefined, info: () => undefined, warn: () => undefined };

export class GenerationService {
  readonly manifest: ModelManifest;
  readonly admission: AdmissionQueue;
  readonly board: RequestBoard;
  readonly inFlight: InFlight;
  readonly drain: Drain;
  private readonly live = new Map<string, GenerationRecord>();
  private readonly observers = new Set<GenerationObserver>();
  private readonly log: GenerationLog;

  constructor(private readonly opts: GenerationServiceOptions) {
    this.manifest = opts.manifest;
    this.admission = opts.admission;
    this.board = opts.board ?? new RequestBoard();
    this.inFlight = opts.inFlight ?? new InFlight();
    this.drain = opts.drain ?? new Drain();
    this.log = opts.log ?? SILENT;
  }

  /** Generations held now (queued or running). */
  get size(): number {
    return this.live.size;
  }

  /** A generation held now, by id. */
  get(id: string): Generation | undefined {
    return this.live.get(id);
  }

  /**
   * Calls `observer` with every generation started from now on, at its start
   * (state `queued`), before anything has happened to it: a refused one too.
   * Returns the unsubscribe. An observer that throws is reported and
   * disturbs neither the generation nor the other observers.
   */
  observe(observer: GenerationObserver): () => void {
    this.observers.add(observer);
    return () => {
      this.observers.delete(observer);
    };
  }

  /** GET /requests: the held generations (one caller's, or all), with admission's expected times. */
  list(caller?: string): RequestSummary[] {
    return this.board.list(caller, this.admission.outlook());
  }

  /** The error new work gets now (a 503 with Retry-After while draining), or undefined when it is taken. */
  refusal(): RefusedError | undefined {
    if (!this.drain.draining) return undefined;
    const s = this.drain.retryAfterS;
    return new RefusedError(
      'SPOOL_ERR_SHUTTING_DOWN',
      `the coordinator is shutting down: it is finishing the ${this.inFlight.size} request(s) it had admitted and takes no new ones; retry in ${s} s (against another instance, or this one once restarted)`,
      s,
    );
  }

  /**
   * Starts a generation and returns its record at once. Never throws for
   * what can happen to a generation (those end it, in `outcome`); throws only
   * when `id` is already held.
   */
  start(req: StartRequest): Generation {
    if (this.live.has(req.id)) throw new RangeError(`a generation with id ${req.id} is already held; ids must be unique`);
    const controller = new AbortController();
    const record = new GenerationRecord({
      id: req.id,
      caller: req.caller,
      params: req.params,
      controller,
      onListenerError: (err) => this.log.warn({ err, id: req.id }, `a listener of generation ${req.id} failed`),
    });
    for (const observe of [...this.observers]) {
      try {
        observe(record);
      } catch (err) {
        this.log.warn({ err, id: req.id }, `an observer of generation ${req.id} failed`);
      }
    }
    const refused = this.refusal();
    if (refused) {
      record.end({ ok: false, state: 'failed', error: refused, seed: req.params.seed, retries: 0 });
      return record;
    }

    // What it holds from now on; `release` gives each back exactly once.
    this.live.set(req.id, record);
    const timeoutMs = this.opts.requestTimeoutMs;
    const deadline = setTimeout(
      () => controller.abort(coordinatorError('SPOOL_ERR_DEADLINE', `the request did not finish within ${timeoutMs} ms (SPOOL_REQUEST_TIMEOUT_MS)`)),
      timeoutMs,
    );
    const leave = this.inFlight.add(controller);
    const entry = this.board.add(req.id, { steps: req.params.steps, numFrames: req.params.numFrames }, req.caller);
    record.subscribe((e) => {
      if (e.type !== 'end') entry.update(e.state, e.step);
    });
    let released = false;
    const release = (slot: Slot | undefined, completed: boolean): void => {
      if (released) return;
      released = true;
      slot?.release({ completed });
      clearTimeout(deadline);
      entry.remove();
      leave();
      this.live.delete(req.id);
    };

    // Every span of the generation names it: the request id (and the job's, once a job started it).
    const common = { 'spool.request_id': req.id, ...(req.jobId === undefined ? {} : { 'spool.job_id': req.jobId }) };
    const own = req.trace ? undefined : tracer().startSpan('generation', { attributes: common }, ROOT_CONTEXT);
    const ctx = withCommonAttributes(req.trace ?? trace.setSpan(ROOT_CONTEXT, own as Span), common);
    void context.with(ctx, () => this.run(record, req.log ?? this.log, trace.getSpan(ctx), release));
    if (own) {
      void record.outcome.then((o) => {
        if (!o.ok) markFailed(own, o.error);
        own.end();
      });
    }
    return record;
  }

  private async run(record: GenerationRecord, log: RunLog, span: Span | undefined, release: (slot: Slot | undefined, completed: boolean) => void): Promise<void> {
    const { id, caller, params: p } = record;
    const plan = planFrames(p.numFrames, this.manifest.latent.temporal_compression);
    span?.setAttributes(rootAttributes(record, this.manifest, plan.generated, this.opts.tracePrompts === true));
    const tally: RetryTally = { retries: 0 };
    let slot: Slot | undefined;
    let outcome: GenerationOutcome | undefined;
    try {
      // Its size, known now: admission expects its run time from it.
      slot = await this.admit(record, p.steps * plan.latentFrames);
      const result = await withTallies([tally], () =>
        runGeneration(
          {
            pipeline: this.opts.pipeline,
            manifest: this.manifest,
            log,
            batcher: this.opts.batcher,
            requestId: id,
            onProgress: (progress) => record.advance(progress.phase, progress.step, progress.steps),
          },
          p,
          record.signal,
        ),
      );
      outcome = { ok: true, ...result, retries: tally.retries, promptTruncated: result.truncated[1] === true };
    } catch (err) {
      const error = isSpoolError(err)
        ? err
        : new SpoolError('SPOOL_ERR_INTERNAL', 'the coordinator failed unexpectedly; the log has the details', { status: 500, cause: err });
      const cancelled = record.wasCancelled && record.signal.reason === error;
      outcome = { ok: false, state: cancelled ? 'cancelled' : 'failed', error, seed: p.seed, retries: tally.retries };
    } finally {
      // Only a completed run teaches admission its run time.
      release(slot, outcome?.ok === true);
    }
    span?.setAttributes({
      'spool.outcome': outcome.ok ? 'completed' : outcome.state,
      'spool.retries': outcome.retries,
      ...(outcome.ok ? {} : { 'spool.error_code': outcome.error.code }),
    });
    record.end(outcome);
  }

  /**
   * The `queue wait` span, from arrival until admission grants the slot: the
   * fail-fast stage check, then a slot at once or a place in the queue. It
   * records what admission saw on arrival (running, waiting, the expected
   * wait), whether the generation queued and at which place; a refusal, a
   * missing stage or an abort while queued ends it with that error.
   */
  private async admit(record: GenerationRecord, work: number): Promise<Slot> {
    const { admission } = this;
    const wait = tracer().startSpan('queue wait', {
      attributes: {
        ...commonAttributes(),
        'spool.queue.running': admission.running,
        'spool.queue.waiting': admission.waiting,
        'spool.queue.expected_wait_ms': admission.expectedWaitMs(),
      },
    });
    let queued = false;
    try {
      await this.checkStages();
      const slot = await admission.acquire({ id: record.id, caller: record.caller, work }, record.signal, (position) => {
        queued = true;
        wait.setAttribute('spool.queue.position', position);
        record.accept();
      });
      record.accept();
      return slot;
    } catch (err) {
      if (isSpoolError(err)) wait.setAttribute('spool.error_code', err.code);
      markFailed(wait, err);
      throw err;
    } finally {
      wait.setAttribute('spool.queued', queued);
      wait.end();
    }
  }

  /**
   * Fails fast, naming the stage, rather than waiting on a chain that cannot
   * finish. A recent picture is enough to go ahead; refusing takes a fresh one.
   */
  private async checkStages(): Promise<void> {
    const { topology } = this.opts;
    let snap = await topology.snapshot({ maxAgeMs: 5_000 });
    if (snap.missing.length > 0) snap = await topology.snapshot({ fresh: true });
    if (snap.missing.length > 0) {
      throw wireError('SPOOL_ERR_STAGE_UNAVAILABLE', `cannot generate: ${describeMissing(snap)}`, { stage: snap.missing[0] });
    }
  }
}
