/**
 * One generation as every surface sees it: who asked for what, where it is
 * (`queued → encoding → denoising → decoding`, then `completed`, `failed` or
 * `cancelled`), its events, and what came of it. The generation service
 * (`service.ts`) drives the record; surfaces only read it, subscribe to it
 * and cancel it.
 *
 * Events come in order: a `phase` event at each phase change, a `step` event
 * at each denoising step, then exactly one `end`. A subscriber gets the
 * current state first (a `phase` event, or the `end` when it is over), so one
 * that arrives late misses nothing it needs. Listeners are called
 * synchronously; one that throws is reported and does not disturb the others
 * or the run.
 */
import { wireError, type SpoolError } from '@spool/shared';
import { pushIterator } from '../lifecycle/push-iterator.ts';
import type { GenerationParams, GenerationResult } from '../pipeline/runner.ts';

/** Where a generation that has not ended is. */
export type GenerationPhase = 'queued' | 'encoding' | 'denoising' | 'decoding';
/** How a generation ended. */
export type GenerationEnd = 'completed' | 'failed' | 'cancelled';
export type GenerationState = GenerationPhase | GenerationEnd;

export interface GenerationProgress {
  /** The phase it is in, or the last one it reached once it ended. */
  readonly phase: GenerationPhase;
  /** Denoising steps done. */
  readonly step: number;
  readonly steps: number;
}

interface EventBase extends GenerationProgress {
  readonly id: string;
  /** Since the generation was started, queueing included. */
  readonly elapsedMs: number;
}

export type GenerationEvent =
  /** A phase began; also the first event of a subscriber that arrives while it runs. */
  | (EventBase & { readonly type: 'phase'; readonly state: GenerationPhase })
  /** A denoising step is done (`step` of `steps`). */
  | (EventBase & { readonly type: 'step'; readonly state: 'denoising' })
  /** The last event: how it ended, and the error when it did not complete. */
  | (EventBase & { readonly type: 'end'; readonly state: GenerationEnd; readonly error?: SpoolError });

export type GenerationListener = (event: GenerationEvent) => void;

/** A completed generation: the runner's result (video and its facts, plan, seed, tokens, timings), the retries, whether the prompt was cut. */
export type GenerationSuccess = GenerationResult & {
  readonly ok: true;
  /** Stage calls that had to be sent again. */
  readonly retries: number;
  /** The prompt was longer than the text encoder takes and was cut. */
  readonly promptTruncated: boolean;
};

export interface GenerationFailure {
  readonly ok: false;
  readonly state: 'failed' | 'cancelled';
  /** Typed: its code, status and message say what happened (a refusal is a `RefusedError` with `retryAfterS`). */
  readonly error: SpoolError;
  readonly seed: number;
  readonly retries: number;
}

export type GenerationOutcome = GenerationSuccess | GenerationFailure;

/** Whether the generation got a place (running or queued), or the error that ended it first. */
export type Acceptance = { readonly ok: true } | { readonly ok: false; readonly error: SpoolError };

export interface Generation {
  readonly id: string;
  /** Who asked (`token-<n>`): admission's limits and GET /requests go by it. */
  readonly caller: string;
  readonly params: GenerationParams;
  /** When it was started, ms since the epoch. */
  readonly createdAt: number;
  readonly state: GenerationState;
  readonly progress: GenerationProgress;
  /** Resolves once admission holds it, running or queued, or with what ended it before that (a refusal, a missing stage, a drain). Never rejects. */
  readonly accepted: Promise<Acceptance>;
  /** Resolves once it has ended and everything it held is released. Never rejects. */
  readonly outcome: Promise<GenerationOutcome>;
  /** Calls `listener` with the current state at once, then with every event; returns the unsubscribe. */
  subscribe(listener: GenerationListener): () => void;
  /** The same events as an async iterator that finishes after `end` (or when `signal` aborts). */
  events(signal?: AbortSignal): AsyncIterableIterator<GenerationEvent>;
  /**
   * Stops it as `cancelled` with SPOOL_ERR_CANCELLED: a queued one leaves the
   * queue, a running one stops within one step. False when it had ended or was
   * being stopped already.
   */
  cancel(reason?: string): boolean;
}

export interface RecordOptions {
  readonly id: string;
  readonly caller: string;
  readonly params: GenerationParams;
  /** Aborting it stops the run; `cancel()` aborts it. */
  readonly controller: AbortController;
  readonly onListenerError?: (err: unknown) => void;
  readonly now?: () => number;
}

/** The record the service drives (`advance`, `accept`, `end`) behind the read-only `Generation`. */
export class GenerationRecord implements Generation {
  readonly id: string;
  readonly caller: string;
  readonly params: GenerationParams;
  readonly createdAt = Date.now();
  readonly accepted: Promise<Acceptance>;
  readonly outcome: Promise<GenerationOutcome>;
  private current: GenerationState = 'queued';
  private phase: GenerationPhase = 'queued';
  private step = 0;
  private steps: number;
  private endError: SpoolError | undefined;
  private cancelled = false;
  private readonly listeners = new Set<GenerationListener>();
  private readonly startedAt: number;
  private readonly now: () => number;
  private resolveAccepted!: (a: Acceptance) => void;
  private acceptedYet = false;
  private resolveOutcome!: (o: GenerationOutcome) => void;

  constructor(private readonly opts: RecordOptions) {
    this.id = opts.id;
    this.caller = opts.caller;
    this.params = opts.params;
    this.steps = opts.params.steps;
    this.now = opts.now ?? (() => performance.now());
    this.startedAt = this.now();
    this.accepted = new Promise((resolve) => (this.resolveAccepted = resolve));
    this.outcome = new Promise((resolve) => (this.resolveOutcome = resolve));
  }

  get state(): GenerationState {
    return this.current;
  }

  get progress(): GenerationProgress {
    return { phase: this.phase, step: this.step, steps: this.steps };
  }

  get signal(): AbortSignal {
    return this.opts.controller.signal;
  }

  get ended(): boolean {
    return this.current === 'completed' || this.current === 'failed' || this.current === 'cancelled';
  }

  /** Whether the run was stopped by `cancel()` (rather than the deadline or a shutdown). */
  get wasCancelled(): boolean {
    return this.cancelled;
  }

  subscribe(listener: GenerationListener): () => void {
    this.call(listener, this.snapshot());
    if (this.ended) return () => undefined;
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  events(signal?: AbortSignal): AsyncIterableIterator<GenerationEvent> {
    return pushIterator<GenerationEvent>((push) => this.subscribe(push), (e) => e.type === 'end', signal);
  }

  cancel(reason = 'the generation was cancelled'): boolean {
    if (this.ended || this.signal.aborted) return false;
    this.cancelled = true;
    this.opts.controller.abort(wireError('SPOOL_ERR_CANCELLED', reason));
    return true;
  }

  /** The runner reached `phase` at `step` of `steps`. */
  advance(phase: Exclude<GenerationPhase, 'queued'>, step: number, steps: number): void {
    if (this.ended) return;
    const changed = phase !== this.phase;
    const stepped = step !== this.step;
    this.phase = phase;
    this.current = phase;
    this.step = step;
    this.steps = steps;
    if (changed) this.emit(this.snapshot());
    else if (stepped && phase === 'denoising') this.emit({ ...this.base(), type: 'step', state: 'denoising' });
  }

  /** Admission holds it (running or queued); idempotent. */
  accept(): void {
    if (this.acceptedYet || this.ended) return;
    this.acceptedYet = true;
    this.resolveAccepted({ ok: true });
  }

  /** It is over: after the service released what it held. */
  end(outcome: GenerationOutcome): void {
    if (this.ended) return;
    this.current = outcome.ok ? 'completed' : outcome.state;
    this.endError = outcome.ok ? undefined : outcome.error;
    if (!this.acceptedYet) {
      this.acceptedYet = true;
      this.resolveAccepted(outcome.ok ? { ok: true } : { ok: false, error: outcome.error });
    }
    this.emit(this.snapshot());
    this.listeners.clear();
    this.resolveOutcome(outcome);
  }

  private base(): EventBase {
    return { id: this.id, phase: this.phase, step: this.step, steps: this.steps, elapsedMs: Math.max(0, Math.round(this.now() - this.startedAt)) };
  }

  /** The current state as an event. */
  private snapshot(): GenerationEvent {
    const s = this.current;
    if (s === 'completed' || s === 'failed' || s === 'cancelled') {
      return { ...this.base(), type: 'end', state: s, ...(this.endError ? { error: this.endError } : {}) };
    }
    return { ...this.base(), type: 'phase', state: s };
  }

  private emit(event: GenerationEvent): void {
    for (const listener of [...this.listeners]) this.call(listener, event);
  }

  private call(listener: GenerationListener, event: GenerationEvent): void {
    try {
      listener(event);
    } catch (err) {
      this.opts.onListenerError?.(err);
    }
  }
}
