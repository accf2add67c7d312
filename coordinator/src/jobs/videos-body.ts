/**
 * The POST /v1/videos body: POST /generate's fields (their limits and
 * defaults from the manifest) and OpenAI's `model`, `seconds` and `size`,
 * mapped onto what this model makes. Where a field cannot map, the 400 says
 * what this model takes. Pure.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ModelManifest } from '@spool/shared';
import { coordinatorError } from '../errors.ts';
import { fieldRules, generateBodySchema, generationParams } from '../http/generate-schema.ts';
import type { GenerationParams } from '../pipeline/runner.ts';

/** `WxH` of the videos the model makes. */
export function modelSize(m: ModelManifest): string {
  return `${m.video.output_width}x${m.video.output_height}`;
}

/** Seconds that give `frames` at `fps`, two decimals at most. */
const secondsOf = (frames: number, fps: number): string => String(Math.round((frames / fps) * 100) / 100);

export function videosBodySchema(m: ModelManifest) {
  const generate = generateBodySchema(m);
  const { min_frames: min, max_frames: max } = m.limits;
  const fps = m.defaults.fps;
  return Type.Object(
    {
      ...generate.properties,
      model: Type.Optional(Type.String({ maxLength: 200, description: `The model: "${m.name}", the one this server runs (the default).`, examples: [m.name] })),
      seconds: Type.Optional(
        Type.Union([Type.String({ pattern: '^[0-9]{1,6}(\\.[0-9]{1,6})?$', maxLength: 13 }), Type.Number({ exclusiveMinimum: 0, maximum: 1e6 })], {
          description:
            `Length of the video in seconds, a number or a decimal string ("4"): num_frames becomes seconds × fps, rounded, which must be from ${min} to ${max} ` +
            `(at the default ${fps} fps, ${secondsOf(min, fps)} to ${secondsOf(max, fps)} s). Give seconds or num_frames, not both; neither gives ${m.defaults.num_frames} frames.`,
          examples: ['4'],
        }),
      ),
      size: Type.Optional(
        Type.String({ maxLength: 20, description: `Width x height: "${modelSize(m)}", the only size this model makes (the default).`, examples: [modelSize(m)] }),
      ),
    },
    {
      additionalProperties: false,
      description: "The video to make: a prompt, and any of the other fields to change the model's defaults; OpenAI's model, seconds and size are taken where this model can make them.",
    },
  );
}

export type VideosBody = Static<ReturnType<typeof videosBodySchema>>;

/** What each field accepts, in words, for validation messages. */
export function videosBodyRules(m: ModelManifest): Record<string, string> {
  const { min_frames: min, max_frames: max } = m.limits;
  return {
    ...fieldRules(generateBodySchema(m)),
    model: `"${m.name}"`,
    seconds: `a number of seconds (or a decimal string such as "4") that makes ${min} to ${max} frames at the request's fps`,
    size: `"${modelSize(m)}"`,
  };
}

/** A valid body as generation parameters, or a 400 naming the field that cannot map and what this model takes. */
export function videoJobParams(b: VideosBody, m: ModelManifest): GenerationParams {
  if (b.model !== undefined && b.model !== m.name) {
    throw coordinatorError('SPOOL_ERR_VALIDATION', `model must be "${m.name}", the model this server runs (got ${JSON.stringify(b.model)}); or leave it out`);
  }
  const size = modelSize(m);
  if (b.size !== undefined && b.size.trim().toLowerCase() !== size) {
    throw coordinatorError('SPOOL_ERR_VALIDATION', `size must be "${size}": ${m.name} makes videos of that size only (got ${JSON.stringify(b.size)}); or leave it out`);
  }
  if (b.seconds === undefined) return generationParams(b, m);
  if (b.num_frames !== undefined) {
    throw coordinatorError('SPOOL_ERR_VALIDATION', `give seconds or num_frames, not both (got seconds ${JSON.stringify(b.seconds)} and num_frames ${b.num_frames})`);
  }
  const seconds = Number(b.seconds);
  const fps = b.fps ?? m.defaults.fps;
  const frames = Math.round(seconds * fps);
  const { min_frames: min, max_frames: max } = m.limits;
  if (!(seconds > 0) || frames < min || frames > max) {
    throw coordinatorError(
      'SPOOL_ERR_VALIDATION',
      `seconds ${JSON.stringify(b.seconds)} at ${fps} fps is ${frames} frames, and ${m.name} makes ${min} to ${max}: at ${fps} fps, seconds must be from ` +
        `${secondsOf(min, fps)} to ${secondsOf(max, fps)} (or change fps, or give num_frames)`,
    );
  }
  return generationParams({ ...b, num_frames: frames }, m);
}
