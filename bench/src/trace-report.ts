/**
 * One request's trace as data and as a picture: the spans an OTLP receiver
 * collected, put in the trace's own time (ms since its root began), checked
 * for completeness, summed up (where the time went), and turned into a
 * waterfall spec (one row per span, coloured by service, labelled with the
 * span's name and its key attributes). Pure: `trace.ts` runs the stack.
 */
import type { AttributeValue, ReceivedSpan } from '@spool/shared';
import { SERIES_COLORS, type WaterfallGroup, type WaterfallSpan, type WaterfallSpec } from './plot/index.ts';

/** A span as trace.json stores it. */
export interface TraceSpan {
  readonly span_id: string;
  readonly parent_id?: string;
  readonly name: string;
  readonly service: string;
  readonly kind: 'internal' | 'server' | 'client' | 'producer' | 'consumer';
  /** Since the root span began. */
  readonly start_ms: number;
  readonly end_ms: number;
  readonly duration_ms: number;
  readonly error: boolean;
  readonly attributes: Record<string, AttributeValue>;
  readonly links?: ReadonlyArray<{ readonly trace_id: string; readonly span_id: string }>;
}

export interface TraceSummary {
  readonly spans: number;
  readonly spans_per_service: Record<string, number>;
  /** The root span, end to end. */
  readonly total_ms: number;
  readonly queue_wait_ms: number;
  readonly text_encode_ms: number;
  readonly denoise_steps: number;
  /** Median of the step spans. */
  readonly denoise_step_median_ms: number;
  /** Median over steps of each denoiser shard's span. */
  readonly shard_median_ms: Record<string, number>;
  /** Median over steps of the coordinator's sampler update. */
  readonly sampler_update_median_ms: number;
  readonly decode_and_encode_ms: number;
}

const KINDS = ['internal', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The spans of `traceId` once the trace is whole: exactly one root, every
 * other span's parent among them, every service of `services` present.
 * Undefined while something is missing.
 */
export function completeTrace(received: readonly ReceivedSpan[], traceId: string, services: readonly string[]): ReceivedSpan[] | undefined {
  const mine = received.filter((s) => s.traceId === traceId);
  const ids = new Set(mine.map((s) => s.spanId));
  if (mine.filter((s) => !s.parentSpanId).length !== 1) return undefined;
  if (mine.some((s) => s.parentSpanId && !ids.has(s.parentSpanId))) return undefined;
  const present = new Set(mine.map((s) => s.service));
  return services.every((s) => present.has(s)) ? mine : undefined;
}

/** The spans in the trace's time, in start order. */
export function toTraceSpans(spans: readonly ReceivedSpan[]): TraceSpan[] {
  const root = spans.find((s) => !s.parentSpanId);
  if (!root) throw new Error('the trace has no root span');
  const t0 = root.startMs;
  return [...spans]
    .sort((a, b) => a.startMs - b.startMs)
    .map((s) => ({
      span_id: s.spanId,
      ...(s.parentSpanId ? { parent_id: s.parentSpanId } : {}),
      name: s.name,
      service: s.service,
      kind: KINDS[s.kind] ?? 'internal',
      start_ms: round(s.startMs - t0, 3),
      end_ms: round(s.endMs - t0, 3),
      duration_ms: round(s.endMs - s.startMs, 3),
      error: s.status.code === 2,
      attributes: s.attributes,
      ...(s.links.length > 0 ? { links: s.links.map((l) => ({ trace_id: l.traceId, span_id: l.spanId })) } : {}),
    }));
}

export function summarizeTrace(spans: readonly TraceSpan[]): TraceSummary {
  const root = spans.find((s) => s.parent_id === undefined)!;
  const named = (name: string) => spans.filter((s) => s.name === name);
  const one = (name: string) => named(name)[0]?.duration_ms ?? 0;
  const steps = spans.filter((s) => s.name.startsWith('denoise step '));
  const perService: Record<string, number> = {};
  for (const s of spans) perService[s.service] = (perService[s.service] ?? 0) + 1;
  const shardMedians: Record<string, number> = {};
  for (const service of Object.keys(perService).filter((x) => x.startsWith('spool-denoise-')).sort()) {
    shardMedians[service] = median(spans.filter((s) => s.service === service).map((s) => s.duration_ms));
  }
  return {
    spans: spans.length,
    spans_per_service: perService,
    total_ms: root.duration_ms,
    queue_wait_ms: one('queue wait'),
    text_encode_ms: one('text-encode'),
    denoise_steps: steps.length,
    denoise_step_median_ms: median(steps.map((s) => s.duration_ms)),
    shard_median_ms: shardMedians,
    sampler_update_median_ms: median(named('sampler update').map((s) => s.duration_ms)),
    decode_and_encode_ms: one('vae-decode+video-encode'),
  };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return round(v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2);
}

/** `1.2 MB`, `48.0 kB`, `512 B`. */
export function formatBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

/** What the waterfall writes beside a span: its key attributes, then its length. */
export function spanNote(s: TraceSpan): string {
  const a = s.attributes;
  const num = (k: string): number => Number(a[k]);
  const parts: string[] = [];
  if (s.parent_id === undefined) {
    parts.push(`${a['spool.model']}, ${a['spool.num_frames']} frames, ${a['spool.steps']} steps, seed ${a['spool.seed']}, guidance ${a['spool.guidance_scale']}`);
    if (a['spool.request_id'] !== undefined) parts.push(`request ${String(a['spool.request_id']).slice(0, 8)}`);
  } else if (s.name === 'queue wait') {
    parts.push(a['spool.queued'] ? `queued at place ${a['spool.queue.position']}` : 'a slot at once', `${a['spool.queue.running']} running on arrival`);
  } else if (s.kind === 'client') {
    parts.push(`to ${a['spool.stage']}`, `try ${a['spool.attempt']}`, `sent ${formatBytes(num('spool.bytes_sent'))}`, `got ${formatBytes(num('spool.bytes_received'))}`);
  } else if (s.kind === 'server') {
    if (a['spool.blocks'] !== undefined) parts.push(`blocks ${a['spool.blocks']}`);
    parts.push(String(a['spool.device']));
    if (a['spool.batch_rows'] !== undefined) parts.push(`${a['spool.batch_rows']} rows`);
    parts.push(`in ${formatBytes(num('spool.tensor_bytes_in'))}`, `out ${formatBytes(num('spool.tensor_bytes_out'))}`);
  } else if (s.name === 'sampler update') {
    parts.push(`${a['spool.sampler']}`, `guidance ${round(num('spool.guidance_scale'))}`);
  } else if (s.name === 'denoise batch') {
    parts.push(`${a['spool.batch_size']} requests`);
  } else if (a['spool.timestep'] !== undefined) {
    parts.push(`timestep ${a['spool.timestep']}`);
  }
  parts.push(formatMs(s.duration_ms));
  return parts.join(', ');
}

/** Services in request order: the coordinator, the text encoder, the shards, the VAE, the video encoder. */
export function serviceOrder(services: Iterable<string>): string[] {
  const rank = (s: string): [number, number] => {
    if (s === 'spool-coordinator') return [0, 0];
    if (s === 'spool-text-encoder') return [1, 0];
    const shard = /^spool-denoise-(\d+)$/.exec(s);
    if (shard) return [2, Number(shard[1])];
    if (s === 'spool-vae-decoder') return [3, 0];
    if (s === 'spool-video-encoder') return [4, 0];
    return [5, 0];
  };
  return [...new Set(services)].sort((a, b) => {
    const [ra, sa] = rank(a);
    const [rb, sb] = rank(b);
    return ra - rb || sa - sb || a.localeCompare(b);
  });
}

export function traceWaterfall(spans: readonly TraceSpan[], opts: { title: string; subtitle?: string; width?: number }): WaterfallSpec {
  const groups: WaterfallGroup[] = serviceOrder(spans.map((s) => s.service)).map((service, i) => ({
    key: service,
    label: service,
    color: SERIES_COLORS[i % SERIES_COLORS.length],
  }));
  const rows: WaterfallSpan[] = spans.map((s) => ({
    id: s.span_id,
    ...(s.parent_id ? { parent: s.parent_id } : {}),
    start: s.start_ms,
    end: s.end_ms,
    label: s.name,
    note: spanNote(s),
    group: s.service,
  }));
  return { title: opts.title, subtitle: opts.subtitle, spans: rows, groups, width: opts.width ?? 1800, xLabel: 'ms since the request arrived' };
}
