/**
 * A job's progress, a whole percentage, from where its generation is. The
 * denoising steps are nearly all of a generation's time on a real model, so
 * they take the middle of the scale, in proportion to the steps done; the
 * text encoder takes far less than one step, and the VAE decode and video
 * encode about as long as a tenth of the steps (CogVideoX-5B: 50 steps of a
 * few seconds, a decode of 10-20 s), so:
 *
 *   queued                       0
 *   encoding (the prompt)        1
 *   denoising, step s of n       1 + 89·s/n, rounded down (1 … 90)
 *   decoding (VAE, then ffmpeg)  90
 *   completed (video stored)     100
 *
 * It never goes back while a run goes on; a failed job keeps the progress it
 * had reached. Pure.
 */
import type { GenerationPhase, GenerationProgress } from '../generation/generation.ts';
import type { JobStatus } from './record.ts';

export const PROGRESS_ENCODING = 1;
export const PROGRESS_DECODING = 90;
export const PROGRESS_DONE = 100;

export function jobProgress(p: GenerationProgress): number {
  switch (p.phase) {
    case 'queued':
      return 0;
    case 'encoding':
      return PROGRESS_ENCODING;
    case 'denoising': {
      const share = p.steps > 0 ? Math.min(1, Math.max(0, p.step / p.steps)) : 0;
      return PROGRESS_ENCODING + Math.floor((PROGRESS_DECODING - PROGRESS_ENCODING) * share);
    }
    case 'decoding':
      return PROGRESS_DECODING;
  }
}

/** The job status of a generation in `phase`: waiting for a slot is `queued`, everything after is `in_progress`. */
export function jobStatusOf(phase: GenerationPhase): Extract<JobStatus, 'queued' | 'in_progress'> {
  return phase === 'queued' ? 'queued' : 'in_progress';
}
