/**
 * A job record: what the job store keeps about one asynchronous generation,
 * as versioned JSON. Job ids carry their creation time, so ordering ids is
 * ordering jobs. Reading is defensive: a record that is not valid JSON, has
 * an unknown version or a malformed field comes back as a problem to log and
 * skip, never as an exception. Pure: no NATS here.
 *
 * The record keeps the prompt: a job that was queued or running when the
 * coordinator stopped is run again from its record alone, and the jobs API
 * returns the prompt with the job. It is readable only by the coordinator's
 * bus identity, and no problem text or log line built here quotes it.
 */
import { randomBytes } from 'node:crypto';

export const JOB_RECORD_VERSION = 1;

export const JOB_STATUSES = ['queued', 'in_progress', 'completed', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** What to generate: the generation parameters, resolved (the seed included), so that a run again makes the same video. */
export interface JobParams {
  readonly prompt: string;
  readonly negativePrompt?: string;
  readonly numFrames: number;
  readonly fps: number;
  readonly guidanceScale: number;
  readonly guidanceRescale: number;
  readonly steps: number;
  readonly seed: number;
}

export interface JobFailure {
  /** A `SPOOL_ERR_*` code. */
  readonly code: string;
  readonly message: string;
}

/** The finished video, kept in the videos bucket under the job's caller and id. */
export interface JobVideo {
  readonly bytes: number;
  readonly contentType: string;
}

export interface JobRecord {
  readonly v: typeof JOB_RECORD_VERSION;
  /** `video_` + 12 hex digits of the creation time in ms + 16 random hex digits (`newJobId`). */
  readonly id: string;
  /** Who made it: the `token-<n>` identity of the bearer token, never the token. */
  readonly caller: string;
  readonly model: string;
  readonly status: JobStatus;
  /** 0 to 100. */
  readonly progress: number;
  readonly params: JobParams;
  /** Times in ms since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt?: number;
  readonly completedAt?: number;
  /** Why it failed (status `failed`). */
  readonly error?: JobFailure;
  /** The video (status `completed`). */
  readonly video?: JobVideo;
  /**
   * The run the job is on, the first being 1: a job found running when the
   * coordinator starts runs again and counts one more (one found still
   * queued had not started its run, and keeps its count). Absent counts as 1.
   */
  readonly attempts?: number;
}

const ID = /^video_[0-9a-f]{28}$/;
const CALLER = /^[A-Za-z0-9_-]{1,64}$/;
const MODEL = /^[a-z0-9][a-z0-9-]*$/;

/** A new job id; ids made later sort after ids made earlier (to the millisecond). */
export function newJobId(now: number = Date.now()): string {
  if (!Number.isSafeInteger(now) || now < 0) throw new RangeError(`a job id needs a time in ms since the epoch (got ${now})`);
  return `video_${now.toString(16).padStart(12, '0')}${randomBytes(8).toString('hex')}`;
}

export function isJobId(id: string): boolean {
  return ID.test(id);
}

/** When a job id was made, ms since the epoch. */
export function jobIdTime(id: string): number {
  if (!isJobId(id)) throw new RangeError(`"${id}" is not a job id`);
  return parseInt(id.slice(6, 18), 16);
}

export function isCaller(caller: string): boolean {
  return CALLER.test(caller);
}

/** The record's key in the bucket: `<caller>.<id>`, so that one caller's jobs are listed by `<caller>.*`. */
export function recordKey(caller: string, id: string): string {
  return `${caller}.${id}`;
}

export function encodeJobRecord(r: JobRecord): Uint8Array {
  const problem = checkRecord(r);
  if (problem) throw new RangeError(`not a valid job record: ${problem}`);
  return new TextEncoder().encode(JSON.stringify(r));
}

export type ParsedRecord = { readonly record: JobRecord; readonly problem?: undefined } | { readonly record?: undefined; readonly problem: string };

/** Reads a stored record; `expected` is the caller and id its key names, which the record must match. */
export function parseJobRecord(bytes: Uint8Array, expected?: { caller: string; id: string }): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { problem: `not UTF-8 JSON (${bytes.byteLength} bytes)` };
  }
  if (!isObject(value)) return { problem: 'not a JSON object' };
  if (value.v !== JOB_RECORD_VERSION) {
    return { problem: typeof value.v === 'number' ? `record version ${value.v}, this coordinator reads version ${JOB_RECORD_VERSION}` : 'no record version' };
  }
  const problem = checkRecord(value);
  if (problem) return { problem };
  const record = value as unknown as JobRecord;
  if (expected && (record.caller !== expected.caller || record.id !== expected.id)) {
    return { problem: `its key names ${expected.caller}/${expected.id} but it holds ${record.caller}/${record.id}` };
  }
  return { record };
}

/** What is wrong with a record, or undefined. Never quotes the prompt. */
export function checkRecord(r: unknown): string | undefined {
  if (!isObject(r)) return 'not an object';
  if (r.v !== JOB_RECORD_VERSION) return `v must be ${JOB_RECORD_VERSION}`;
  if (typeof r.id !== 'string' || !isJobId(r.id)) return 'id must be a job id (video_ and 28 hex digits)';
  if (typeof r.caller !== 'string' || !isCaller(r.caller)) return 'caller must be 1 to 64 letters, digits, "-" or "_"';
  if (typeof r.model !== 'string' || !MODEL.test(r.model)) return 'model must be a model name';
  if (!JOB_STATUSES.includes(r.status as JobStatus)) return `status must be one of ${JOB_STATUSES.join(', ')}`;
  if (typeof r.progress !== 'number' || !(r.progress >= 0 && r.progress <= 100)) return 'progress must be a number from 0 to 100';
  const params = checkParams(r.params);
  if (params) return `params.${params}`;
  for (const k of ['createdAt', 'updatedAt'] as const) if (!isTime(r[k])) return `${k} must be a time in ms`;
  for (const k of ['startedAt', 'completedAt'] as const) if (r[k] !== undefined && !isTime(r[k])) return `${k} must be a time in ms`;
  if (r.error !== undefined && !(isObject(r.error) && typeof r.error.code === 'string' && typeof r.error.message === 'string')) {
    return 'error must be {code, message}';
  }
  if (r.video !== undefined && !(isObject(r.video) && isCount(r.video.bytes) && typeof r.video.contentType === 'string')) {
    return 'video must be {bytes, contentType}';
  }
  if (r.attempts !== undefined && !(isCount(r.attempts) && r.attempts >= 1)) return 'attempts must be a whole number ≥ 1';
  if (r.status === 'completed' && r.video === undefined) return 'a completed job names its video';
  if (r.status === 'failed' && r.error === undefined) return 'a failed job says why';
  const known = new Set(['v', 'id', 'caller', 'model', 'status', 'progress', 'params', 'createdAt', 'updatedAt', 'startedAt', 'completedAt', 'error', 'video', 'attempts']);
  const unknown = Object.keys(r).find((k) => !known.has(k));
  return unknown === undefined ? undefined : `unknown field ${JSON.stringify(unknown)}`;
}

function checkParams(p: unknown): string | undefined {
  if (!isObject(p)) return p === undefined ? 'missing' : 'not an object';
  if (typeof p.prompt !== 'string' || p.prompt.length === 0) return 'prompt must be a non-empty string';
  if (p.negativePrompt !== undefined && typeof p.negativePrompt !== 'string') return 'negativePrompt must be a string';
  for (const k of ['numFrames', 'steps'] as const) if (!isCount(p[k]) || p[k] === 0) return `${k} must be a positive integer`;
  for (const k of ['fps', 'guidanceScale', 'guidanceRescale'] as const) if (typeof p[k] !== 'number' || !Number.isFinite(p[k])) return `${k} must be a number`;
  if (!isCount(p.seed)) return 'seed must be a whole number ≥ 0';
  const known = new Set(['prompt', 'negativePrompt', 'numFrames', 'fps', 'guidanceScale', 'guidanceRescale', 'steps', 'seed']);
  const unknown = Object.keys(p).find((k) => !known.has(k));
  return unknown === undefined ? undefined : `unknown field ${JSON.stringify(unknown)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
