/**
 * The trace report from spans made by hand: when a trace is whole, its spans
 * in the trace's own time, the summary of where the time went, the notes the
 * waterfall writes, and the waterfall spec itself.
 */
import type { ReceivedSpan } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { layoutWaterfall, SERIES_COLORS } from '../src/plot/index.ts';
import { completeTrace, formatBytes, serviceOrder, spanNote, summarizeTrace, toTraceSpans, traceWaterfall } from '../src/trace-report.ts';

const T0 = 1_760_000_000_000;
let next = 0;
function span(over: Partial<ReceivedSpan> & Pick<ReceivedSpan, 'name' | 'service'> & { start: number; end: number }): ReceivedSpan {
  const { start, end, ...rest } = over;
  return { traceId: 't1', spanId: `s${next++}`, kind: 1, startMs: T0 + start, endMs: T0 + end, attributes: {}, events: [], links: [], status: { code: 0 }, ...rest };
}

const root = span({ spanId: 'root', name: 'POST /generate', service: 'spool-coordinator', kind: 2, start: 0, end: 100, attributes: { 'spool.model': 'cogvideox-mini', 'spool.num_frames': 49, 'spool.steps': 2, 'spool.seed': 42, 'spool.guidance_scale': 5, 'spool.request_id': 'dc7632e6-c7c2' } });
const wait = span({ spanId: 'wait', parentSpanId: 'root', name: 'queue wait', service: 'spool-coordinator', start: 0.5, end: 1.5, attributes: { 'spool.queued': true, 'spool.queue.position': 2, 'spool.queue.running': 2 } });
const text = span({ spanId: 'te', parentSpanId: 'root', name: 'text-encode', service: 'spool-coordinator', kind: 3, start: 1.5, end: 4, attributes: { 'spool.stage': 'text-encoder', 'spool.attempt': 1, 'spool.bytes_sent': 104, 'spool.bytes_received': 10_360 } });
const textServer = span({ spanId: 'tes', parentSpanId: 'te', name: 'text-encoder encode', service: 'spool-text-encoder', kind: 2, start: 2, end: 3.5, attributes: { 'spool.device': 'cpu', 'spool.batch_rows': 2, 'spool.tensor_bytes_in': 0, 'spool.tensor_bytes_out': 10_240 } });
const steps = [0, 1].flatMap((i) => {
  const at = 4 + i * 40;
  return [
    span({ spanId: `step${i}`, parentSpanId: 'root', name: `denoise step ${i + 1}/2`, service: 'spool-coordinator', start: at, end: at + 40, attributes: { 'spool.timestep': 999 - i * 500 } }),
    span({ spanId: `call${i}`, parentSpanId: `step${i}`, name: 'denoise shard-chain', service: 'spool-coordinator', kind: 3, start: at + 1, end: at + 30, attributes: { 'spool.stage': 'denoise.0', 'spool.attempt': 1, 'spool.bytes_sent': 63_700, 'spool.bytes_received': 53_300 } }),
    span({ spanId: `d0${i}`, parentSpanId: `call${i}`, name: 'denoise.0 denoise', service: 'spool-denoise-0', kind: 2, start: at + 2, end: at + 12 + i * 2, attributes: { 'spool.blocks': '0:3', 'spool.device': 'cpu', 'spool.batch_rows': 2, 'spool.tensor_bytes_in': 63_500, 'spool.tensor_bytes_out': 234_500 } }),
    span({ spanId: `d1${i}`, parentSpanId: `d0${i}`, name: 'denoise.1 denoise', service: 'spool-denoise-1', kind: 2, start: at + 13, end: at + 29, attributes: { 'spool.blocks': '3:6', 'spool.device': 'cpu', 'spool.batch_rows': 2, 'spool.tensor_bytes_in': 234_500, 'spool.tensor_bytes_out': 53_200 } }),
    span({ spanId: `upd${i}`, parentSpanId: `step${i}`, name: 'sampler update', service: 'spool-coordinator', start: at + 31, end: at + 31.5 + i, attributes: { 'spool.sampler': 'cogvideox-ddim', 'spool.guidance_scale': 5 } }),
  ];
});
const decode = span({ spanId: 'dec', parentSpanId: 'root', name: 'vae-decode+video-encode', service: 'spool-coordinator', kind: 3, start: 84, end: 99, attributes: { 'spool.stage': 'vae-decoder', 'spool.attempt': 1, 'spool.bytes_sent': 26_800, 'spool.bytes_received': 127_600 } });
const vae = span({ spanId: 'vae', parentSpanId: 'dec', name: 'vae-decoder decode', service: 'spool-vae-decoder', kind: 2, start: 85, end: 90, attributes: { 'spool.device': 'cpu', 'spool.batch_rows': 1, 'spool.tensor_bytes_in': 26_600, 'spool.tensor_bytes_out': 150_500 } });
const video = span({ spanId: 'vid', parentSpanId: 'vae', name: 'video-encoder encode', service: 'spool-video-encoder', kind: 2, start: 90, end: 98, attributes: { 'spool.device': 'cpu', 'spool.batch_rows': 1, 'spool.tensor_bytes_in': 150_500, 'spool.tensor_bytes_out': 127_500 } });
const all = [video, vae, decode, ...steps, textServer, text, wait, root];
const SERVICES = ['spool-coordinator', 'spool-text-encoder', 'spool-denoise-0', 'spool-denoise-1', 'spool-vae-decoder', 'spool-video-encoder'];

describe('completeTrace', () => {
  it('waits for every service, every parent and a single root', () => {
    expect(completeTrace(all, 't1', SERVICES)).toHaveLength(all.length);
    expect(completeTrace(all.filter((s) => s !== video), 't1', SERVICES)).toBeUndefined();
    expect(completeTrace(all.filter((s) => s !== root), 't1', SERVICES)).toBeUndefined();
    expect(completeTrace(all.filter((s) => s !== vae), 't1', SERVICES.slice(0, 4))).toBeUndefined(); // the video encoder's parent is missing
    expect(completeTrace([...all, { ...root, spanId: 'other-root' }], 't1', SERVICES)).toBeUndefined();
    expect(completeTrace([...all, { ...wait, traceId: 't2', spanId: 'elsewhere' }], 't1', SERVICES)).toHaveLength(all.length);
  });
});

describe('toTraceSpans and summarizeTrace', () => {
  const trace = toTraceSpans(all);

  it('puts the spans in start order, in ms since the root began, with their kind', () => {
    expect(trace[0]).toMatchObject({ span_id: 'root', start_ms: 0, end_ms: 100, duration_ms: 100, kind: 'server' });
    expect(trace[0]).not.toHaveProperty('parent_id');
    expect(trace.map((s) => s.start_ms)).toEqual([...trace.map((s) => s.start_ms)].sort((a, b) => a - b));
    expect(trace.find((s) => s.span_id === 'te')).toMatchObject({ parent_id: 'root', kind: 'client', start_ms: 1.5, duration_ms: 2.5 });
    expect(trace.find((s) => s.span_id === 'wait')?.kind).toBe('internal');
  });

  it('sums up where the time went', () => {
    expect(summarizeTrace(trace)).toEqual({
      spans: all.length,
      spans_per_service: { 'spool-coordinator': 10, 'spool-text-encoder': 1, 'spool-denoise-0': 2, 'spool-denoise-1': 2, 'spool-vae-decoder': 1, 'spool-video-encoder': 1 },
      total_ms: 100,
      queue_wait_ms: 1,
      text_encode_ms: 2.5,
      denoise_steps: 2,
      denoise_step_median_ms: 40,
      shard_median_ms: { 'spool-denoise-0': 11, 'spool-denoise-1': 16 },
      sampler_update_median_ms: 1,
      decode_and_encode_ms: 15,
    });
  });

  it('notes each kind of span by what an operator looks for', () => {
    const note = (id: string) => spanNote(trace.find((s) => s.span_id === id)!);
    expect(note('root')).toBe('cogvideox-mini, 49 frames, 2 steps, seed 42, guidance 5, request dc7632e6, 100 ms');
    expect(note('wait')).toBe('queued at place 2, 2 running on arrival, 1.0 ms');
    expect(note('te')).toBe('to text-encoder, try 1, sent 104 B, got 10.4 kB, 2.5 ms');
    expect(note('tes')).toBe('cpu, 2 rows, in 0 B, out 10.2 kB, 1.5 ms');
    expect(note('d00')).toBe('blocks 0:3, cpu, 2 rows, in 63.5 kB, out 234.5 kB, 10.0 ms');
    expect(note('step1')).toBe('timestep 499, 40.0 ms');
    expect(note('upd0')).toBe('cogvideox-ddim, guidance 5, 0.5 ms');
    expect(formatBytes(2_500_000)).toBe('2.5 MB');
  });
});

describe('traceWaterfall', () => {
  it('colours services in request order and draws a row per span', () => {
    expect(serviceOrder(['spool-video-encoder', 'spool-denoise-10', 'spool-denoise-2', 'spool-coordinator', 'spool-text-encoder'])).toEqual([
      'spool-coordinator',
      'spool-text-encoder',
      'spool-denoise-2',
      'spool-denoise-10',
      'spool-video-encoder',
    ]);
    const spec = traceWaterfall(toTraceSpans(all), { title: 'one request' });
    expect(spec.groups.map((g) => [g.key, g.color])).toEqual(SERVICES.map((s, i) => [s, SERIES_COLORS[i]]));
    const layout = layoutWaterfall(spec);
    expect(layout.spans).toHaveLength(all.length);
    expect(layout.spans.map((p) => p.span.id).slice(0, 4)).toEqual(['root', 'wait', 'te', 'tes']);
    expect(layout.spans.find((p) => p.span.id === 'vid')?.depth).toBe(3);
  });
});
