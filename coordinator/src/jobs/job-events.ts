/**
 * What a job's watchers (GET /v1/videos/{id}/events) are told: its state as
 * a video object, with where its generation is (`phase`, `step` of
 * `steps`). A `phase` event when a phase begins (and as a watcher's first
 * event), a `step` event after each denoising step, and one last event:
 * `completed` once the video is stored (with the URL to download it), or
 * `failed` with the error (a cancelled job fails with SPOOL_ERR_CANCELLED).
 * Pure, with the Server-Sent Events encoding of an event.
 */
import type { GenerationPhase } from '../generation/generation.ts';
import type { JobRecord } from './record.ts';
import { videoObject, type VideoObject, type VideoView } from './video-object.ts';

export type JobEventType = 'phase' | 'step' | 'completed' | 'failed';
export type JobPhase = GenerationPhase | 'completed' | 'failed';

export interface JobEvent {
  readonly type: JobEventType;
  readonly video: VideoObject;
  readonly phase: JobPhase;
  /** Denoising steps done. */
  readonly step: number;
  readonly steps: number;
}

export const isFinal = (e: JobEvent): boolean => e.type === 'completed' || e.type === 'failed';

/** Where a job's video is downloaded from. */
export const contentPath = (id: string): string => `/v1/videos/${id}/content`;

/** The event that tells a stored record's state: its end when it is over, else where it waits (`queued`). */
export function recordEvent(r: JobRecord, view: VideoView): JobEvent {
  const video = videoObject(r, view);
  const steps = r.params.steps;
  if (r.status === 'completed') return { type: 'completed', video, phase: 'completed', step: steps, steps };
  if (r.status === 'failed') return { type: 'failed', video, phase: 'failed', step: 0, steps };
  // Stored as unfinished but not running here: waiting to run (again).
  return { type: 'phase', video, phase: 'queued', step: 0, steps };
}

/** One Server-Sent Event: `event: <type>` and the video object with `phase`, `step`, `steps` (and `content_url` once completed) as `data`. */
export function formatEvent(e: JobEvent): string {
  const data = { ...e.video, phase: e.phase, step: e.step, steps: e.steps, ...(e.type === 'completed' ? { content_url: contentPath(e.video.id) } : {}) };
  return `event: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line, which clients ignore: it keeps proxies from closing an idle stream. */
export const HEARTBEAT = ': keep-alive\n\n';

/** The last word of a stream that cannot go on (the job store became unreachable): `event: error` and the error. */
export function formatError(code: string, message: string): string {
  return `event: error\ndata: ${JSON.stringify({ code, message })}\n\n`;
}
