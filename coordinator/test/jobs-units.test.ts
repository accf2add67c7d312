/**
 * The pure parts of the jobs API: the progress formula, the video object of
 * a record, OpenAI's fields mapped onto the model, the event stream's
 * encoding, and the record writer's pacing (on a fake clock: phase changes at
 * once, steps at most once per interval, one write at a time, the latest
 * state winning).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatEvent, recordEvent } from '../src/jobs/job-events.ts';
import { jobProgress, jobStatusOf } from '../src/jobs/progress.ts';
import { RecordWriter, type RunningState } from '../src/jobs/record-writer.ts';
import { newJobId, type JobRecord } from '../src/jobs/record.ts';
import { formatSeconds, videoObject } from '../src/jobs/video-object.ts';
import { videoJobParams, videosBodyRules, type VideosBody } from '../src/jobs/videos-body.ts';
import { manifest } from './helpers.ts';

const T0 = 1_800_000_000_000;
const record = (over: Partial<JobRecord> = {}): JobRecord => ({
  v: 1,
  id: newJobId(T0),
  caller: 'token-0',
  model: manifest.name,
  status: 'queued',
  progress: 0,
  params: { prompt: 'a fox', numFrames: 49, fps: 8, guidanceScale: 6, guidanceRescale: 0.7, steps: 30, seed: 42 },
  createdAt: T0,
  updatedAt: T0,
  ...over,
});
const view = { size: '64x64', maxAgeMs: 3_600_000 };

describe('job progress', () => {
  it('is 0 queued, 1 encoding, 1 + 89·s/n while denoising, 90 decoding, and never goes back', () => {
    expect(jobProgress({ phase: 'queued', step: 0, steps: 30 })).toBe(0);
    expect(jobProgress({ phase: 'encoding', step: 0, steps: 30 })).toBe(1);
    expect(jobProgress({ phase: 'denoising', step: 0, steps: 30 })).toBe(1);
    expect(jobProgress({ phase: 'denoising', step: 15, steps: 30 })).toBe(45);
    expect(jobProgress({ phase: 'denoising', step: 30, steps: 30 })).toBe(90);
    expect(jobProgress({ phase: 'decoding', step: 30, steps: 30 })).toBe(90);
    const run = [{ phase: 'queued' as const, step: 0 }, { phase: 'encoding' as const, step: 0 }, ...Array.from({ length: 51 }, (_, s) => ({ phase: 'denoising' as const, step: s })), { phase: 'decoding' as const, step: 50 }];
    const values = run.map((p) => jobProgress({ ...p, steps: 50 }));
    expect(values).toEqual([...values].sort((x, y) => x - y));
    expect(values.every((v) => Number.isInteger(v) && v >= 0 && v < 100)).toBe(true);
    expect(jobStatusOf('queued')).toBe('queued');
    expect(['encoding', 'denoising', 'decoding'].map((p) => jobStatusOf(p as 'encoding'))).toEqual(['in_progress', 'in_progress', 'in_progress']);
  });
});

describe('the video object', () => {
  it("has OpenAI's fields in Unix seconds, spool's under the body's names, and an expiry once finished", () => {
    const queued = videoObject(record(), view);
    expect(queued).toMatchObject({ object: 'video', status: 'queued', created_at: T0 / 1000, completed_at: null, expires_at: null, seconds: '6.125', size: '64x64', error: null });
    expect(queued).toMatchObject({ num_frames: 49, fps: 8, num_inference_steps: 30, guidance_scale: 6, guidance_rescale: 0.7, seed: 42, attempts: 1, negative_prompt: null });
    const done = videoObject(record({ status: 'completed', progress: 100, completedAt: T0 + 5_000, updatedAt: T0 + 5_000, video: { bytes: 10, contentType: 'video/mp4' } }), view);
    // Kept an hour after its last write, less the minute within which a video counts as gone.
    expect(done).toMatchObject({ completed_at: T0 / 1000 + 5, expires_at: T0 / 1000 + 5 + 3600 - 60 });
    const failed = videoObject(record({ status: 'failed', progress: 40, error: { code: 'SPOOL_ERR_CANCELLED', message: 'cancelled' }, completedAt: T0 + 1_000, updatedAt: T0 + 1_000 }), view);
    expect(failed).toMatchObject({ status: 'failed', progress: 40, error: { code: 'SPOOL_ERR_CANCELLED', message: 'cancelled' }, expires_at: T0 / 1000 + 1 + 3600 });
    // A running job's live state wins over its record.
    expect(videoObject(record(), view, { status: 'in_progress', progress: 37 })).toMatchObject({ status: 'in_progress', progress: 37, expires_at: null });
    expect([formatSeconds(32, 8), formatSeconds(49, 8), formatSeconds(10, 3)]).toEqual(['4', '6.125', '3.333']);
  });

  it('encodes events as Server-Sent Events: the type, and the object with phase and step as one data line', () => {
    const done = recordEvent(record({ status: 'completed', progress: 100, completedAt: T0, video: { bytes: 1, contentType: 'video/mp4' } }), view);
    const text = formatEvent(done);
    expect(text).toMatch(/^event: completed\ndata: \{.*\}\n\n$/);
    const data = JSON.parse(text.split('\n')[1].slice(6)) as Record<string, unknown>;
    expect(data).toMatchObject({ status: 'completed', phase: 'completed', step: 30, steps: 30, content_url: `/v1/videos/${done.video.id}/content` });
    // A prompt with line breaks stays on one data line.
    const multiline = formatEvent(recordEvent(record({ params: { ...record().params, prompt: 'one\ntwo\r\nthree' } }), view));
    expect(multiline.split('\n').filter((l) => l.startsWith('data: '))).toHaveLength(1);
    expect(multiline).toMatch(/^event: phase\n/);
    expect(recordEvent(record({ status: 'in_progress', progress: 45 }), view)).toMatchObject({ type: 'phase', phase: 'queued', video: { status: 'in_progress', progress: 45 } });
  });
});

describe("OpenAI's fields on this model", () => {
  const map = (b: Partial<VideosBody>) => videoJobParams({ prompt: 'a fox', ...b }, manifest);
  const size = `${manifest.video.output_width}x${manifest.video.output_height}`;

  it('maps seconds to frames at the request fps (or the default), takes the served model and its size, and fills in the rest', () => {
    expect(map({ seconds: '2', fps: 8 })).toMatchObject({ numFrames: 16, fps: 8 });
    expect(map({ seconds: 1.5 })).toMatchObject({ numFrames: Math.round(1.5 * manifest.defaults.fps), fps: manifest.defaults.fps });
    expect(map({ model: manifest.name, size, num_frames: 20 })).toMatchObject({ numFrames: 20, steps: manifest.defaults.num_inference_steps });
    expect(map({ size: size.toUpperCase() })).toMatchObject({ numFrames: manifest.defaults.num_frames });
    expect(map({ seed: 9 }).seed).toBe(9);
    expect(videosBodyRules(manifest)).toMatchObject({ model: `"${manifest.name}"`, size: `"${size}"` });
  });

  it('refuses what cannot map with a 400 that says what this model takes', () => {
    const refused = (b: Partial<VideosBody>): string => {
      try {
        map(b);
      } catch (err) {
        expect(err).toMatchObject({ code: 'SPOOL_ERR_VALIDATION', status: 400 });
        return (err as Error).message;
      }
      throw new Error(`${JSON.stringify(b)} was taken`);
    };
    expect(refused({ model: 'sora-2-pro' })).toBe(`model must be "${manifest.name}", the model this server runs (got "sora-2-pro"); or leave it out`);
    expect(refused({ size: '720x1280' })).toBe(`size must be "${size}": ${manifest.name} makes videos of that size only (got "720x1280"); or leave it out`);
    expect(refused({ seconds: '12', fps: 24 })).toBe(
      `seconds "12" at 24 fps is 288 frames, and ${manifest.name} makes 8 to 100: at 24 fps, seconds must be from 0.33 to 4.17 (or change fps, or give num_frames)`,
    );
    expect(refused({ seconds: 0.01 })).toMatch(/is 0 frames/);
    expect(refused({ seconds: '4', num_frames: 32 })).toBe('give seconds or num_frames, not both (got seconds "4" and num_frames 32)');
  });
});

describe('the record writer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const writer = (intervalMs: number) => {
    const written: RunningState[] = [];
    const pending: Array<() => void> = [];
    let now = 0;
    const w = new RecordWriter({
      intervalMs,
      now: () => now,
      onError: () => undefined,
      write: (s) =>
        new Promise<void>((resolve) => {
          written.push(s);
          pending.push(resolve);
        }),
    });
    const settle = async (): Promise<void> => {
      pending.splice(0).forEach((r) => r());
      await vi.advanceTimersByTimeAsync(0);
    };
    const advance = async (ms: number): Promise<void> => {
      now += ms;
      await vi.advanceTimersByTimeAsync(ms);
    };
    return { w, written, settle, advance };
  };

  it('writes nothing before start, then the latest state; phase changes at once, steps at most once per interval', async () => {
    const { w, written, settle, advance } = writer(500);
    w.set({ status: 'in_progress', progress: 1 }, true);
    await advance(1_000);
    expect(written).toEqual([]);
    w.start({ status: 'queued', progress: 0 });
    expect(written).toEqual([{ status: 'in_progress', progress: 1 }]);
    await settle();
    // 40 steps in 400 ms: none written until the interval since the last write is over, then the latest.
    for (let s = 1; s <= 40; s++) {
      w.set({ status: 'in_progress', progress: 1 + s }, false);
      await advance(10);
    }
    expect(written).toHaveLength(1);
    await advance(100);
    expect(written).toEqual([{ status: 'in_progress', progress: 1 }, { status: 'in_progress', progress: 41 }]);
    await settle();
    // A phase change goes at once, even within the interval; while a write is under way the next one waits for it.
    w.set({ status: 'in_progress', progress: 90 }, true);
    expect(written).toHaveLength(3);
    w.set({ status: 'in_progress', progress: 91 }, true);
    expect(written).toHaveLength(3);
    await settle();
    expect(written.at(-1)).toEqual({ status: 'in_progress', progress: 91 });
    await settle();
    // The same state again is not written; close stops the writes and waits for the one under way.
    w.set({ status: 'in_progress', progress: 91 }, true);
    expect(written).toHaveLength(4);
    w.set({ status: 'in_progress', progress: 95 }, false);
    const closed = w.close();
    await advance(1_000);
    await closed;
    expect(written).toHaveLength(4);
  });

  it('tries again after a failed write, at the next interval', async () => {
    let fail = true;
    const written: number[] = [];
    let now = 0;
    const errors: unknown[] = [];
    const w = new RecordWriter({
      intervalMs: 200,
      now: () => now,
      onError: (err) => errors.push(err),
      write: async (s) => {
        written.push(s.progress);
        if (fail) throw new Error('JetStream did not answer');
      },
    });
    w.start({ status: 'queued', progress: 0 });
    w.set({ status: 'in_progress', progress: 5 }, true);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    fail = false;
    now += 200;
    await vi.advanceTimersByTimeAsync(200);
    expect(written).toEqual([5, 5]);
    await w.close();
  });
});
