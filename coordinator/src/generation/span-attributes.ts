/**
 * What an operator filters a generation's trace by, on its root span (the
 * HTTP request's, or `generation`): who asked for what of which model. The
 * prompts only when `tracePrompts` (SPOOL_TRACE_PROMPTS=1); no other span
 * ever carries them. The outcome, retries and error code are added when it
 * ends (`service.ts`).
 */
import type { Attributes } from '@opentelemetry/api';
import type { ModelManifest } from '@spool/shared';
import type { Generation } from './generation.ts';

export function rootAttributes(g: Pick<Generation, 'id' | 'caller' | 'params'>, manifest: ModelManifest, generatedFrames: number, tracePrompts: boolean): Attributes {
  const p = g.params;
  return {
    'spool.request_id': g.id,
    'spool.caller': g.caller,
    'spool.model': manifest.name,
    'spool.num_frames': p.numFrames,
    'spool.generated_frames': generatedFrames,
    'spool.fps': p.fps,
    'spool.steps': p.steps,
    'spool.seed': p.seed,
    'spool.guidance_scale': p.guidanceScale,
    'spool.guidance_rescale': p.guidanceRescale,
    ...(tracePrompts ? { 'spool.prompt': p.prompt, ...(p.negativePrompt ? { 'spool.negative_prompt': p.negativePrompt } : {}) } : {}),
  };
}
