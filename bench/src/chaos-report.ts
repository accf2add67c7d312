/**
 * What a chaos run comes to: each request's outcome, the figures of the
 * summary (sent, completed, retried, refused, failed by code, lost; per fault
 * the requests in flight and how long /health took to come back; the drain
 * after SIGTERM) and the timeline chart's spec. Pure functions of the run's
 * records, so they are tested without a stack.
 */
import { DEFAULT_OUTCOMES, OKABE_ITO, type ChartEvent, type OutcomeStyle, type TimelineSpec } from './plot/index.ts';
import type { AnswerCheck } from './live/coordinator-log.ts';
import type { FaultRecord } from './live/faults.ts';
import type { HealthChange } from './live/health.ts';
import type { SentRequest } from './live/load.ts';
import type { VideoCheck } from './live/mp4.ts';
import { percentiles, type Percentiles } from './stats.ts';

export type Outcome = 'ok' | 'retried' | 'refused' | 'failed';

/** A request as the report keeps it: no body, its video checked. */
export type RequestOutcome = Omit<SentRequest, 'body'> & { readonly outcome: Outcome; readonly video?: VideoCheck };

/**
 * ok: a valid MP4 with no stage call sent again; retried: a valid MP4 after
 * some were; refused: turned away before admission with a Retry-After (429,
 * or 503 while draining), a refused connection (nothing listening), or, for a
 * request sent after SIGTERM (`closingFrom`), a connection reset with no
 * answer as the coordinator closed; failed: everything else, a 200 whose
 * body is not the video asked for included.
 */
export function outcomeOf(
  r: Pick<SentRequest, 'status' | 'code' | 'retry_after_s' | 'retries'> & { readonly start?: number },
  video?: VideoCheck,
  closingFrom?: number,
): Outcome {
  if (r.status === 200) return video?.valid ? ((r.retries ?? 0) > 0 ? 'retried' : 'ok') : 'failed';
  if (r.status === 0 && r.code === 'ECONNREFUSED') return 'refused';
  if (r.status === 0 && r.code === 'ECONNRESET' && closingFrom !== undefined && r.start !== undefined && r.start >= closingFrom) return 'refused';
  if ((r.status === 429 || r.status === 503) && r.retry_after_s !== undefined) return 'refused';
  return 'failed';
}

/** What a failed request is counted under: its error code, INVALID_MP4 for a bad 200, or HTTP_<status>. */
export function failureCode(r: RequestOutcome): string {
  if (r.status === 200) return 'INVALID_MP4';
  return r.code ?? `HTTP_${r.status}`;
}

export interface SigtermRecord {
  readonly at: number;
  readonly pid: number;
}

export interface LauncherExitRecord {
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
}

export interface LeftBehind {
  readonly pid: number;
  readonly label: string;
  readonly args: string;
}

export interface ChaosRun {
  readonly requests: readonly RequestOutcome[];
  readonly faults: readonly FaultRecord[];
  readonly health: readonly HealthChange[];
  readonly sigterm?: SigtermRecord;
  readonly exit?: LauncherExitRecord;
  readonly leftBehind: readonly LeftBehind[];
  /** The coordinator's log set against what the clients received. */
  readonly answers?: AnswerCheck;
}

export interface FaultSummary {
  readonly label: string;
  readonly at: number;
  /** Requests running when it struck, and how many of them came back as a valid video. */
  readonly in_flight: number;
  readonly in_flight_completed: number;
  /** Of those completed, how many had stage calls sent again. */
  readonly in_flight_retried: number;
  /** Seconds until a new process ran in its place, and until /info listed every worker again. */
  readonly replaced_after_s?: number;
  readonly full_strength_after_s?: number;
  /** Seconds /health was not 200 before the next fault; 0 when it stayed healthy. */
  readonly unhealthy_s: number;
  /** Seconds from the fault until /health was 200 again after turning unhealthy (0: it never turned); absent: not before the next fault. */
  readonly time_to_healthy_s?: number;
}

export interface DrainSummary {
  readonly sigterm_at: number;
  /** Requests running or queued when SIGTERM was sent, and how many came back as a valid video. */
  readonly in_flight: number;
  readonly in_flight_completed: number;
  /** Requests sent after SIGTERM: admitted and completed anyway (they reached it before the drain began), 503 with Retry-After, refused connections, anything else. */
  readonly after: {
    readonly completed: number;
    readonly refused_503: number;
    readonly refused_connection: number;
    /** Connections reset with no answer as the coordinator closed its server. */
    readonly reset_while_closing: number;
    readonly other: number;
  };
  readonly retry_after_s?: number;
  readonly first_503_at?: number;
  readonly first_refused_connection_at?: number;
  readonly launcher_exit_at?: number;
  readonly launcher_exit_code?: number | null;
  readonly launcher_exit_signal?: string | null;
  /** Seconds from SIGTERM to the launcher's exit. */
  readonly stop_s?: number;
}

export interface ChaosSummary {
  readonly sent: number;
  readonly completed: number;
  readonly retried_and_completed: number;
  /** Stage calls sent again, over every completed request. */
  readonly stage_calls_sent_again: number;
  readonly refused: { readonly total: number; readonly by_code: Record<string, number> };
  readonly failed: { readonly total: number; readonly by_code: Record<string, number> };
  /** Requests that were not refused and got no valid video: the target is 0. */
  readonly lost: number;
  readonly latency_s: Percentiles;
  readonly faults: readonly FaultSummary[];
  readonly drain?: DrainSummary;
  readonly left_behind: number;
  readonly coordinator_log?: AnswerCheck;
}

const valid = (r: RequestOutcome): boolean => r.outcome === 'ok' || r.outcome === 'retried';
const count = <T>(xs: readonly T[], key: (x: T) => string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
};
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function summarizeChaos(run: ChaosRun): ChaosSummary {
  const { requests } = run;
  const completed = requests.filter(valid);
  const refused = requests.filter((r) => r.outcome === 'refused');
  const failed = requests.filter((r) => r.outcome === 'failed');
  // Each fault's window ends at the next fault or the SIGTERM.
  const marks = [...run.faults.map((f) => f.at), ...(run.sigterm ? [run.sigterm.at] : [])];
  const faults = run.faults.map((f, i) => summarizeFault(f, requests, run.health, marks[i + 1] ?? Infinity));
  return {
    sent: requests.length,
    completed: completed.length,
    retried_and_completed: completed.filter((r) => r.outcome === 'retried').length,
    stage_calls_sent_again: completed.reduce((n, r) => n + (r.retries ?? 0), 0),
    refused: { total: refused.length, by_code: count(refused, (r) => r.code ?? `HTTP_${r.status}`) },
    failed: { total: failed.length, by_code: count(failed, failureCode) },
    lost: failed.length,
    latency_s: percentiles(completed.map((r) => r.end - r.start)),
    faults,
    drain: run.sigterm ? summarizeDrain(run.sigterm, requests, run.exit) : undefined,
    left_behind: run.leftBehind.length,
    ...(run.answers ? { coordinator_log: run.answers } : {}),
  };
}

/** Requests running at `at`. */
const runningAt = (requests: readonly RequestOutcome[], at: number): RequestOutcome[] => requests.filter((r) => r.start <= at && r.end > at);

function summarizeFault(f: FaultRecord, requests: readonly RequestOutcome[], health: readonly HealthChange[], until: number): FaultSummary {
  const inFlight = runningAt(requests, f.at);
  const after = (t?: number): number | undefined => (t === undefined ? undefined : r3(t - f.at));
  const h = healthAfter(health, f.at, until);
  return {
    label: f.label,
    at: f.at,
    in_flight: inFlight.length,
    in_flight_completed: inFlight.filter(valid).length,
    in_flight_retried: inFlight.filter((r) => r.outcome === 'retried').length,
    replaced_after_s: after(f.replaced_at),
    full_strength_after_s: after(f.full_strength_at),
    unhealthy_s: h.unhealthy_s,
    time_to_healthy_s: h.time_to_healthy_s,
  };
}

/** How /health fared in [from, until): time not healthy, and when it was healthy again after turning. */
export function healthAfter(changes: readonly HealthChange[], from: number, until: number): { unhealthy_s: number; time_to_healthy_s?: number } {
  const before = changes.filter((c) => c.at <= from).at(-1);
  const within = changes.filter((c) => c.at > from && c.at < until);
  let state = before?.state ?? 'healthy';
  let since = from;
  let unhealthy = 0;
  let turned = state !== 'healthy';
  let back: number | undefined;
  for (const c of within) {
    if (state !== 'healthy') unhealthy += c.at - since;
    if (c.state !== 'healthy') turned = true;
    else if (turned && back === undefined && state !== 'healthy') back = c.at;
    state = c.state;
    since = c.at;
  }
  const end = Number.isFinite(until) ? until : (changes.at(-1)?.at ?? from);
  if (state !== 'healthy') unhealthy += Math.max(0, end - since);
  return { unhealthy_s: r3(unhealthy), time_to_healthy_s: !turned ? 0 : back === undefined ? undefined : r3(back - from) };
}

function summarizeDrain(s: SigtermRecord, requests: readonly RequestOutcome[], exit?: LauncherExitRecord): DrainSummary {
  const inFlight = runningAt(requests, s.at);
  const later = requests.filter((r) => r.start >= s.at);
  const is503 = (r: RequestOutcome): boolean => r.status === 503 && r.outcome === 'refused';
  const isConn = (r: RequestOutcome): boolean => r.code === 'ECONNREFUSED';
  const isReset = (r: RequestOutcome): boolean => r.code === 'ECONNRESET' && r.outcome === 'refused';
  const first503 = later.find(is503);
  return {
    sigterm_at: s.at,
    in_flight: inFlight.length,
    in_flight_completed: inFlight.filter(valid).length,
    after: {
      completed: later.filter(valid).length,
      refused_503: later.filter(is503).length,
      refused_connection: later.filter(isConn).length,
      reset_while_closing: later.filter(isReset).length,
      other: later.filter((r) => !valid(r) && !is503(r) && !isConn(r) && !isReset(r)).length,
    },
    retry_after_s: first503?.retry_after_s,
    first_503_at: first503?.end,
    first_refused_connection_at: later.find(isConn)?.end,
    launcher_exit_at: exit?.at,
    launcher_exit_code: exit?.code,
    launcher_exit_signal: exit?.signal,
    stop_s: exit ? r3(exit.at - s.at) : undefined,
  };
}

/** The timeline's legend: the default colours, with what each outcome means in this run. */
export const CHAOS_OUTCOMES: readonly OutcomeStyle[] = DEFAULT_OUTCOMES.map((o) => ({
  ...o,
  label: { ok: 'ok', retried: 'ok, stage calls sent again', refused: 'refused (Retry-After, or port closing)', failed: 'failed or lost' }[o.key] ?? o.label,
}));

/** The timeline: one bar per request coloured by outcome; faults, recoveries, SIGTERM and the exit as event lines. */
export function chaosChart(run: ChaosRun, summary: ChaosSummary, title: string): TimelineSpec {
  const events: ChartEvent[] = [];
  run.faults.forEach((f, i) => {
    events.push({ at: f.at, label: f.label, color: OKABE_ITO.vermillion });
    const back = summary.faults[i].time_to_healthy_s;
    if (back !== undefined && back > 0) events.push({ at: f.at + back, label: `healthy again +${back.toFixed(1)} s`, color: OKABE_ITO.bluishGreen });
  });
  if (run.sigterm) events.push({ at: run.sigterm.at, label: 'SIGTERM launcher', color: OKABE_ITO.black });
  if (run.exit) events.push({ at: run.exit.at, label: `launcher exit ${run.exit.code ?? run.exit.signal}`, color: OKABE_ITO.black });
  const s = summary;
  return {
    title,
    subtitle:
      `${s.sent} requests: ${s.completed} completed (${s.retried_and_completed} after a retry), ${s.refused.total} refused, ` +
      `${s.failed.total} failed, ${s.lost} lost; ${s.left_behind} processes left behind`,
    requests: run.requests.map((r) => ({ start: r.start, end: r.end, outcome: r.outcome })),
    outcomes: CHAOS_OUTCOMES,
    events,
    width: 1400,
    height: 700,
  };
}
