/**
 * A job as the jobs API shows it (OpenAI's video object and spool's fields,
 * `coordinator/src/jobs/video-object.ts`), the part the CLI reads, and what
 * its events add (`phase`, `step`, `steps`, `content_url`). Pure.
 */
import type { JobProgress } from './progress.ts';

export type VideoStatus = 'queued' | 'in_progress' | 'completed' | 'failed';

export interface Video {
  readonly id: string;
  readonly object: 'video';
  readonly model: string;
  readonly status: VideoStatus;
  readonly progress: number;
  readonly created_at: number;
  readonly completed_at: number | null;
  readonly expires_at: number | null;
  readonly seconds: string;
  readonly size: string;
  readonly prompt: string;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly negative_prompt: string | null;
  readonly num_frames: number;
  readonly fps: number;
  readonly num_inference_steps: number;
  readonly guidance_scale: number;
  readonly guidance_rescale: number;
  readonly seed: number;
  readonly attempts: number;
}

/** An event's data: the video object with where the generation is. */
export interface VideoEvent extends Video {
  readonly phase: string;
  readonly step: number;
  readonly steps: number;
  readonly content_url?: string;
}

export interface VideoList {
  readonly object: 'list';
  readonly data: Video[];
  readonly first_id: string | null;
  readonly last_id: string | null;
  readonly has_more: boolean;
}

export const isFinished = (v: Pick<Video, 'status'>): boolean => v.status === 'completed' || v.status === 'failed';

/** Where an event says the job is. */
export function eventProgress(e: VideoEvent): JobProgress {
  return { phase: e.phase, step: e.step, steps: e.steps, progress: e.progress };
}

/**
 * Where a polled video object says the job is: it has no phase, so a running
 * job is `in_progress` with its percentage, and the steps are not known.
 */
export function videoProgress(v: Video): JobProgress {
  const steps = v.num_inference_steps;
  if (v.status === 'completed') return { phase: 'completed', step: steps, steps, progress: 100 };
  return { phase: v.status, step: 0, steps, progress: v.progress };
}

/** The video object alone, without what an event adds. */
export function videoOf(e: VideoEvent): Video {
  const { phase: _phase, step: _step, steps: _steps, content_url: _url, ...video } = e;
  return video;
}

/** The job path of the API. */
export const videoPath = (id: string): string => `/v1/videos/${encodeURIComponent(id)}`;
