/** Job records as bytes: ids that sort by time, the versioned format, and defensive reading. */
import { describe, expect, it } from 'vitest';
import { encodeJobRecord, isJobId, jobIdTime, newJobId, parseJobRecord, recordKey, type JobRecord } from '../src/jobs/index.ts';
import { readJobStoreLimits } from '../src/jobs/limits.ts';
import { loadConfig } from '../src/config.ts';

const SECRET = 'a prompt that must never appear in a log line';

const record = (over: Partial<Record<keyof JobRecord, unknown>> = {}): JobRecord =>
  ({
    v: 1,
    id: newJobId(1_700_000_000_000),
    caller: 'token-0',
    model: 'cogvideox-mini',
    status: 'queued',
    progress: 0,
    params: { prompt: SECRET, numFrames: 9, fps: 8, guidanceScale: 6, guidanceRescale: 0, steps: 4, seed: 42 },
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    ...over,
  }) as JobRecord;

const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

describe('job ids', () => {
  it('carry their creation time, so later ids sort after earlier ones', () => {
    const a = newJobId(1_700_000_000_000);
    const b = newJobId(1_700_000_000_001);
    expect(isJobId(a) && isJobId(b)).toBe(true);
    expect(a < b).toBe(true);
    expect(jobIdTime(a)).toBe(1_700_000_000_000);
    expect(newJobId(5)).not.toBe(newJobId(5));
    expect(isJobId('video_123')).toBe(false);
    expect(isJobId(`${a}.x`)).toBe(false);
    expect(() => newJobId(-1)).toThrow(/time in ms/);
  });

  it('key a record by caller and id', () => {
    expect(recordKey('token-3', 'video_x')).toBe('token-3.video_x');
  });
});

describe('job records', () => {
  it('round-trip through their bytes', () => {
    const r = record({ status: 'completed', progress: 100, completedAt: 1_700_000_005_000, video: { bytes: 1234, contentType: 'video/mp4' } });
    expect(parseJobRecord(encodeJobRecord(r), { caller: r.caller, id: r.id })).toEqual({ record: r });
  });

  it('refuse to encode a record that breaks the format', () => {
    expect(() => encodeJobRecord(record({ status: 'done' }))).toThrow(/status must be one of queued, in_progress, completed, failed/);
    expect(() => encodeJobRecord(record({ status: 'completed' }))).toThrow(/a completed job names its video/);
    expect(() => encodeJobRecord(record({ status: 'failed' }))).toThrow(/a failed job says why/);
    expect(() => encodeJobRecord(record({ caller: 'token.1' }))).toThrow(/caller must be/);
  });

  it('read back a problem, never an exception, for what is not a valid record, and never quote the prompt', () => {
    const r = record();
    const cases: Array<[Uint8Array, RegExp]> = [
      [Uint8Array.of(0xff, 0xfe), /not UTF-8 JSON \(2 bytes\)/],
      [new TextEncoder().encode('{"v":1,'), /not UTF-8 JSON/],
      [bytes([1, 2]), /not a JSON object/],
      [bytes({ ...r, v: 2 }), /record version 2, this coordinator reads version 1/],
      [bytes({ ...r, v: undefined }), /no record version/],
      [bytes({ ...r, progress: 101 }), /progress must be a number from 0 to 100/],
      [bytes({ ...r, params: { ...r.params, prompt: 7 } }), /params\.prompt must be a non-empty string/],
      [bytes({ ...r, params: { ...r.params, steps: 0 } }), /params\.steps must be a positive integer/],
      [bytes({ ...r, params: { ...r.params, extra: SECRET } }), /params\.unknown field "extra"/],
      [bytes({ ...r, createdAt: 'yesterday' }), /createdAt must be a time in ms/],
      [bytes({ ...r, surprise: true }), /unknown field "surprise"/],
      [bytes({ ...r, error: 'it broke' }), /error must be \{code, message\}/],
    ];
    for (const [b, problem] of cases) {
      const parsed = parseJobRecord(b);
      expect(parsed.record).toBeUndefined();
      expect(parsed.problem).toMatch(problem);
      expect(parsed.problem).not.toContain(SECRET);
    }
  });

  it('must hold the caller and id its key names', () => {
    const r = record();
    expect(parseJobRecord(encodeJobRecord(r), { caller: 'token-1', id: r.id }).problem).toMatch(/its key names token-1\/.* but it holds token-0\//);
  });
});

describe('job store limits', () => {
  it('default to a day and about a gigabyte of videos', () => {
    expect(readJobStoreLimits({})).toEqual({ maxAgeMs: 24 * 3_600_000, videosMaxBytes: 1024 * 1024 * 1024, recordsMaxBytes: 64 * 1024 * 1024 });
    expect(readJobStoreLimits({ SPOOL_JOBS_MAX_AGE_H: '0.5', SPOOL_JOBS_MAX_MB: '10', SPOOL_JOBS_RECORDS_MB: '2' })).toEqual({
      maxAgeMs: 1_800_000,
      videosMaxBytes: 10 * 1024 * 1024,
      recordsMaxBytes: 2 * 1024 * 1024,
    });
    expect(loadConfig({ SPOOL_API_TOKENS: 'x', SPOOL_JOBS_MAX_MB: '5' }).jobs.videosMaxBytes).toBe(5 * 1024 * 1024);
  });

  it('refuse what is not a limit, naming the variable', () => {
    expect(() => readJobStoreLimits({ SPOOL_JOBS_MAX_AGE_H: '0' })).toThrow(/SPOOL_JOBS_MAX_AGE_H="0" must be a number from 0.01 to 8784/);
    expect(() => readJobStoreLimits({ SPOOL_JOBS_MAX_MB: '1.5' })).toThrow(/SPOOL_JOBS_MAX_MB="1.5" must be an integer/);
    expect(() => readJobStoreLimits({ SPOOL_JOBS_RECORDS_MB: '-1' })).toThrow(/SPOOL_JOBS_RECORDS_MB/);
  });
});
