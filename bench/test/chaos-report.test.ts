/**
 * The chaos run's report from records made by hand: each request's outcome,
 * /health's recovery after a fault, the summary's counts (lost, refusals by
 * code, the drain), the timeline's spec, and the coordinator's log read back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { chaosChart, healthAfter, outcomeOf, summarizeChaos, type ChaosRun, type RequestOutcome } from '../src/chaos-report.ts';
import { checkAnswers, generateAnswers } from '../src/live/coordinator-log.ts';
import type { HealthChange } from '../src/live/health.ts';
import { layoutTimeline } from '../src/plot/index.ts';

const good = { valid: true, codec: 'h264', frames: 16 };

describe('outcomeOf', () => {
  it('counts a 200 as completed only with a valid MP4, and as retried when stage calls were sent again', () => {
    expect(outcomeOf({ status: 200, retries: 0 }, good)).toBe('ok');
    expect(outcomeOf({ status: 200 }, good)).toBe('ok');
    expect(outcomeOf({ status: 200, retries: 2 }, good)).toBe('retried');
    expect(outcomeOf({ status: 200, retries: 0 }, { valid: false, problem: '15 frames, not 16' })).toBe('failed');
    expect(outcomeOf({ status: 200, retries: 0 })).toBe('failed');
  });

  it('counts refusals with a Retry-After and refused connections as refused, every other answer as failed', () => {
    expect(outcomeOf({ status: 503, code: 'SPOOL_ERR_SHUTTING_DOWN', retry_after_s: 5 })).toBe('refused');
    expect(outcomeOf({ status: 429, code: 'SPOOL_ERR_QUEUE_FULL', retry_after_s: 2 })).toBe('refused');
    expect(outcomeOf({ status: 0, code: 'ECONNREFUSED' })).toBe('refused');
    expect(outcomeOf({ status: 503, code: 'SPOOL_ERR_STAGE_UNAVAILABLE' })).toBe('failed');
    expect(outcomeOf({ status: 503, code: 'SPOOL_ERR_CALL_LOST' })).toBe('failed');
    expect(outcomeOf({ status: 0, code: 'ECONNRESET', start: 10 })).toBe('failed');
    // Sent after SIGTERM and reset as the coordinator closed: refused; sent before it, lost.
    expect(outcomeOf({ status: 0, code: 'ECONNRESET', start: 31 }, undefined, 30)).toBe('refused');
    expect(outcomeOf({ status: 0, code: 'ECONNRESET', start: 29 }, undefined, 30)).toBe('failed');
    expect(outcomeOf({ status: 0, code: 'TIMEOUT' })).toBe('failed');
  });
});

describe('healthAfter', () => {
  const changes: HealthChange[] = [
    { at: 0.2, state: 'healthy' },
    { at: 11, state: 'unhealthy', message: 'vae-decoder has no live worker' },
    { at: 12.5, state: 'healthy' },
    { at: 31, state: 'unhealthy', message: 'worker discovery failed' },
    { at: 31.5, state: 'unreachable' },
    { at: 33, state: 'healthy' },
    { at: 50, state: 'unhealthy', message: 'shutting down' },
  ];

  it('is 0 when /health stayed healthy after the fault', () => {
    expect(healthAfter(changes, 5, 10)).toEqual({ unhealthy_s: 0, time_to_healthy_s: 0 });
  });

  it('measures the time unhealthy and until healthy again, across several bad states', () => {
    expect(healthAfter(changes, 10, 30)).toEqual({ unhealthy_s: 1.5, time_to_healthy_s: 2.5 });
    expect(healthAfter(changes, 30, 40)).toEqual({ unhealthy_s: 2, time_to_healthy_s: 3 });
  });

  it('has no time to healthy when it did not come back before the window ends', () => {
    expect(healthAfter(changes, 45, 55)).toEqual({ unhealthy_s: 5, time_to_healthy_s: undefined });
  });

  it('counts a fault that struck while /health was already unhealthy', () => {
    expect(healthAfter(changes, 11.5, 20)).toEqual({ unhealthy_s: 1, time_to_healthy_s: 1 });
  });
});

describe('summarizeChaos', () => {
  const req = (seq: number, start: number, end: number, more: Partial<RequestOutcome>): RequestOutcome => ({
    seq,
    client: seq % 3,
    seed: 1000 + seq,
    num_frames: 16,
    start,
    end,
    status: 200,
    bytes: 100,
    outcome: 'ok',
    ...more,
  });
  const run: ChaosRun = {
    requests: [
      req(0, 0, 1, { retries: 0, video: good }),
      req(1, 9, 13, { retries: 1, video: good, outcome: 'retried' }),
      req(2, 9.5, 10.5, { retries: 0, video: good }),
      req(3, 10.2, 10.4, { status: 503, code: 'SPOOL_ERR_STAGE_UNAVAILABLE', outcome: 'failed' }),
      req(4, 19, 20.5, { retries: 0, video: { valid: false, problem: 'ffprobe: moov atom not found' }, outcome: 'failed' }),
      req(5, 29, 31, { retries: 0, video: good }),
      req(6, 30.2, 30.3, { status: 503, code: 'SPOOL_ERR_SHUTTING_DOWN', retry_after_s: 5, outcome: 'refused' }),
      req(7, 31.5, 31.6, { status: 0, code: 'ECONNREFUSED', outcome: 'refused' }),
      req(8, 31.8, 31.9, { status: 0, code: 'ECONNREFUSED', outcome: 'refused' }),
    ],
    faults: [
      { at: 10, label: 'kill -9 vae-decoder', target: 'vae-decoder', signal: 'SIGKILL', pid: 42, replaced_at: 10.6, replaced_pid: 43, full_strength_at: 12 },
      { at: 20, label: 'kill -9 nats-server', target: 'nats-server', signal: 'SIGKILL', pid: 50 },
    ],
    health: [
      { at: 0.1, state: 'healthy' },
      { at: 10.4, state: 'unhealthy', message: 'vae-decoder has no live worker' },
      { at: 11.4, state: 'healthy' },
      { at: 30.1, state: 'unhealthy', message: 'shutting down' },
    ],
    sigterm: { at: 30, pid: 7 },
    exit: { at: 31.2, code: 0, signal: null },
    leftBehind: [],
  };

  it('counts completed, retried, refused by code, failed by code, and the lost', () => {
    const s = summarizeChaos(run);
    expect(s).toMatchObject({
      sent: 9,
      completed: 4,
      retried_and_completed: 1,
      stage_calls_sent_again: 1,
      refused: { total: 3, by_code: { SPOOL_ERR_SHUTTING_DOWN: 1, ECONNREFUSED: 2 } },
      failed: { total: 2, by_code: { SPOOL_ERR_STAGE_UNAVAILABLE: 1, INVALID_MP4: 1 } },
      lost: 2,
      left_behind: 0,
    });
    expect(s.latency_s).toMatchObject({ count: 4, max: 4 });
  });

  it('sums up each fault: requests in flight, their fate, the replacement and /health', () => {
    const [vae, nats] = summarizeChaos(run).faults;
    expect(vae).toEqual({
      label: 'kill -9 vae-decoder',
      at: 10,
      in_flight: 2,
      in_flight_completed: 2,
      in_flight_retried: 1,
      replaced_after_s: 0.6,
      full_strength_after_s: 2,
      unhealthy_s: 1,
      time_to_healthy_s: 1.4,
    });
    expect(nats).toMatchObject({ in_flight: 1, in_flight_completed: 0, unhealthy_s: 0, time_to_healthy_s: 0, replaced_after_s: undefined });
  });

  it('sums up the drain: admitted requests finished, later ones refused with 503 or a refused connection', () => {
    expect(summarizeChaos(run).drain).toEqual({
      sigterm_at: 30,
      in_flight: 1,
      in_flight_completed: 1,
      after: { completed: 0, refused_503: 1, refused_connection: 2, reset_while_closing: 0, other: 0 },
      retry_after_s: 5,
      first_503_at: 30.3,
      first_refused_connection_at: 31.6,
      launcher_exit_at: 31.2,
      launcher_exit_code: 0,
      launcher_exit_signal: null,
      stop_s: 1.2,
    });
  });

  it('draws every request and every event, with recoveries after the faults that turned /health', () => {
    const spec = chaosChart(run, summarizeChaos(run), 'chaos');
    expect(spec.requests).toHaveLength(9);
    expect(spec.events!.map((e) => e.label)).toEqual(['kill -9 vae-decoder', 'healthy again +1.4 s', 'kill -9 nats-server', 'SIGTERM launcher', 'launcher exit 0']);
    expect(spec.subtitle).toContain('2 lost');
    expect(layoutTimeline(spec).legend.map((l) => l.entry.label)).toEqual([
      'ok: 3',
      'ok, stage calls sent again: 1',
      'refused (Retry-After, or port closing): 3',
      'failed or lost: 2',
    ]);
  });
});

describe("the coordinator's log against what the clients received", () => {
  it('reads /generate answers from the JSON log lines and finds the videos no client received', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spool-coordlog-'));
    try {
      const file = path.join(dir, 'coordinator.log');
      const line = (reqId: string, status: number): string => JSON.stringify({ level: 30, reqId, method: 'POST', url: '/generate', status, ms: 5, msg: `POST /generate ${status}` });
      writeFileSync(
        file,
        [
          line('a', 200),
          JSON.stringify({ level: 30, reqId: 'a', msg: 'generated 16 frames in 20 steps (339 ms)' }),
          line('b', 503),
          line('c', 200),
          JSON.stringify({ level: 30, reqId: 'd', url: '/health', status: 200 }),
          '{"level":30,"reqId":"e","url":"/generate","sta', // cut short by a kill
        ].join('\n'),
      );
      const logged = generateAnswers(file);
      expect(logged).toEqual([{ reqId: 'a', status: 200 }, { reqId: 'b', status: 503 }, { reqId: 'c', status: 200 }]);
      expect(checkAnswers(logged, [{ status: 200, request_id: 'a' }, { status: 503 }, { status: 0 }])).toEqual({ logged: 3, received: 2, videos_not_received: ['c'] });
      expect(generateAnswers(path.join(dir, 'missing.log'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
