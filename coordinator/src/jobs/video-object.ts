/**
 * A job as the jobs API shows it: OpenAI's video object (`id`, `object:
 * "video"`, `model`, `status`, `progress`, `created_at`, `completed_at`,
 * `expires_at`, `seconds`, `size`, `prompt`, `error`,
 * `remixed_from_video_id`), then spool's own fields under the names the
 * request body uses (`num_frames`, `fps`, `num_inference_steps`, `seed`, …),
 * so that sending them back makes the same video. Times are whole seconds
 * since the epoch, as OpenAI gives them. Pure.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { JobRecord, JobStatus } from './record.ts';
import { expiryMargin } from './videos.ts';

const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T, description: string) => Type.Union([t, Type.Null()], { description });

export const JobError = Type.Object(
  {
    code: Type.String({ description: 'The SPOOL_ERR_* code (coordinator/ERRORS.md); SPOOL_ERR_CANCELLED when the job was cancelled' }),
    message: Type.String({ description: 'What happened' }),
  },
  { additionalProperties: false },
);

export const VideoObject = Type.Object(
  {
    id: Type.String({ description: 'The job id: `video_` and 28 hex digits', examples: ['video_0193b5a3c2e1a4c2f9e07b1d2c3e4f50'] }),
    object: Type.Literal('video'),
    model: Type.String({ description: 'The model that makes it' }),
    status: Type.Union([Type.Literal('queued'), Type.Literal('in_progress'), Type.Literal('completed'), Type.Literal('failed')], {
      description: 'queued (waiting for a slot), in_progress (encoding, denoising, decoding, storing), completed (the video can be downloaded), failed (see error; a cancelled job is failed with SPOOL_ERR_CANCELLED)',
    }),
    progress: Type.Integer({
      minimum: 0,
      maximum: 100,
      description: 'Percent done: 0 queued, 1 encoding the prompt, 1 + 89 × steps done / steps while denoising, 90 decoding and storing, 100 completed',
    }),
    created_at: Type.Integer({ description: 'When the job was made, Unix seconds' }),
    completed_at: nullable(Type.Integer(), 'When it completed or failed, Unix seconds; null before'),
    expires_at: nullable(Type.Integer(), 'When the job and its video are dropped (SPOOL_JOBS_MAX_AGE_H after its last change), Unix seconds; null while it runs'),
    seconds: Type.String({ description: 'Length of the video: num_frames / fps, in seconds', examples: ['6.125'] }),
    size: Type.String({ description: "The video's width x height in pixels", examples: ['256x256'] }),
    prompt: Type.String(),
    error: nullable(JobError, 'Why it failed; null unless failed'),
    remixed_from_video_id: Type.Null({ description: 'Always null: spool does not remix' }),
    negative_prompt: nullable(Type.String(), 'The negative prompt, or null'),
    num_frames: Type.Integer({ minimum: 1 }),
    fps: Type.Integer({ minimum: 1 }),
    num_inference_steps: Type.Integer({ minimum: 1 }),
    guidance_scale: Type.Number(),
    guidance_rescale: Type.Number(),
    seed: Type.Integer({ minimum: 0, description: 'The seed used: the same body and seed make the same video' }),
    attempts: Type.Integer({ minimum: 1, description: 'The run it is on: 1, and one more each time a coordinator stop interrupted it while it ran and it ran again' }),
  },
  { additionalProperties: false, description: 'A video job' },
);

export type VideoObject = Static<typeof VideoObject>;

export interface VideoView {
  /** `WxH` of the model's videos. */
  readonly size: string;
  /** The job store's age limit (SPOOL_JOBS_MAX_AGE_H), ms. */
  readonly maxAgeMs: number;
}

/** Whole seconds since the epoch. */
export const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** The length of `frames` at `fps` as OpenAI writes `seconds`: a decimal string, at most three places ("4", "6.125"). */
export function formatSeconds(frames: number, fps: number): string {
  return String(Math.round((frames / fps) * 1000) / 1000);
}

/** The video object of a record; `live` is a running job's state, fresher than its record. */
export function videoObject(r: JobRecord, view: VideoView, live?: { status: JobStatus; progress: number }): VideoObject {
  const status = live?.status ?? r.status;
  const finished = status === 'completed' || status === 'failed';
  // A finished job lasts until its last write ages out; its video (written just before) a little less.
  const expires = finished ? unixSeconds(r.updatedAt + view.maxAgeMs - (status === 'completed' ? expiryMargin(view.maxAgeMs) : 0)) : null;
  const p = r.params;
  return {
    id: r.id,
    object: 'video',
    model: r.model,
    status,
    progress: Math.round(live?.progress ?? r.progress),
    created_at: unixSeconds(r.createdAt),
    completed_at: finished && r.completedAt !== undefined ? unixSeconds(r.completedAt) : null,
    expires_at: expires,
    seconds: formatSeconds(p.numFrames, p.fps),
    size: view.size,
    prompt: p.prompt,
    error: status === 'failed' && r.error ? { code: r.error.code, message: r.error.message } : null,
    remixed_from_video_id: null,
    negative_prompt: p.negativePrompt ? p.negativePrompt : null,
    num_frames: p.numFrames,
    fps: p.fps,
    num_inference_steps: p.steps,
    guidance_scale: p.guidanceScale,
    guidance_rescale: p.guidanceRescale,
    seed: p.seed,
    attempts: r.attempts ?? 1,
  };
}
