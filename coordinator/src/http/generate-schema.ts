/**
 * The POST /generate body: its schema comes from the manifest's limits and
 * defaults, and is the one source for validation, the rules validation
 * messages quote, and the OpenAPI document; a valid body becomes the
 * generation's parameters.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ModelManifest } from '@spool/shared';
import type { GenerationParams } from '../pipeline/runner.ts';
import { randomSeed } from '../sampler/rng.ts';

export const MAX_SEED = 0xffffffff;

export function generateBodySchema(m: ModelManifest) {
  const { limits: l } = m;
  return Type.Object(
    {
      prompt: Type.String({
        minLength: 1,
        maxLength: l.max_prompt_chars,
        pattern: '\\S',
        description: "What the video shows. A prompt longer than the text encoder's token limit is cut to it (X-Spool-Prompt-Truncated says so).",
        examples: ['A red fox trotting through fresh snow at dawn, soft light, slow pan'],
      }),
      negative_prompt: Type.Optional(Type.String({ maxLength: l.max_prompt_chars, description: 'What to steer away from: the unconditional branch of classifier-free guidance.' })),
      num_frames: Type.Optional(
        Type.Integer({
          minimum: l.min_frames,
          maximum: l.max_frames,
          default: m.defaults.num_frames,
          description: 'Frames in the video. The model makes the smallest 4k+1 count at or above it, and exactly this many are returned.',
        }),
      ),
      fps: Type.Optional(Type.Integer({ minimum: l.min_fps, maximum: l.max_fps, default: m.defaults.fps, description: "Frames per second of the MP4: the video's speed, not how many frames are made." })),
      guidance_scale: Type.Optional(
        Type.Number({ minimum: 0, maximum: l.max_guidance_scale, default: m.defaults.guidance_scale, description: 'Classifier-free guidance: how strongly the video follows the prompt.' }),
      ),
      guidance_rescale: Type.Optional(
        Type.Number({ minimum: 0, maximum: 1, default: m.defaults.guidance_rescale, description: 'Pulls strongly guided predictions back to the spread of the prompt branch; 0 is plain guidance.' }),
      ),
      num_inference_steps: Type.Optional(
        Type.Integer({ minimum: 1, maximum: l.max_inference_steps, default: m.defaults.num_inference_steps, description: 'Denoising steps: more take longer and add detail.' }),
      ),
      seed: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SEED, description: 'Same seed, same video; random when absent (X-Spool-Seed says which).' })),
    },
    { additionalProperties: false, description: "The video to make: a prompt, and any of the other fields to change the model's defaults." },
  );
}

export type GenerateBody = Static<ReturnType<typeof generateBodySchema>>;

/** A valid body as generation parameters: the prompt trimmed, the manifest's defaults for what is absent, a random seed when none is given. */
export function generationParams(b: GenerateBody, m: ModelManifest): GenerationParams {
  return {
    prompt: b.prompt.trim(),
    negativePrompt: b.negative_prompt,
    numFrames: b.num_frames ?? m.defaults.num_frames,
    fps: b.fps ?? m.defaults.fps,
    guidanceScale: b.guidance_scale ?? m.defaults.guidance_scale,
    guidanceRescale: b.guidance_rescale ?? m.defaults.guidance_rescale,
    steps: b.num_inference_steps ?? m.defaults.num_inference_steps,
    seed: b.seed ?? randomSeed(),
  };
}

/** What each field accepts, in words, e.g. "an integer from 8 to 100". */
export function fieldRules(schema: ReturnType<typeof generateBodySchema>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, field] of Object.entries(schema.properties) as Array<[string, TSchema]>) out[name] = describeField(field);
  return out;
}

function describeField(s: TSchema): string {
  const range = (): string => {
    if (s.minimum !== undefined && s.maximum !== undefined) return ` from ${s.minimum} to ${s.maximum}`;
    if (s.minimum !== undefined) return ` of at least ${s.minimum}`;
    if (s.maximum !== undefined) return ` of at most ${s.maximum}`;
    return '';
  };
  switch (s.type) {
    case 'integer':
      return `an integer${range()}`;
    case 'number':
      return `a number${range()}`;
    case 'string': {
      const what = s.minLength ? 'a non-empty string' : 'a string';
      return s.maxLength !== undefined ? `${what} of at most ${s.maxLength} characters` : what;
    }
    default:
      return `of type ${String(s.type)}`;
  }
}
