/**
 * The form's fields: their limits and defaults from GET /info (`setUpForm`),
 * each number field paired with a slider, the frame count's hint (the model
 * makes temporal_compression × k + 1 frames and returns the count asked
 * for), the prompt's length, the body they make (`readForm`), and a job's
 * settings put back (`fillForm`). Nothing is checked here: the API's 400
 * says what to fix, and the page shows it.
 */
import { byId } from './dom.js';

/** The number fields, and what each takes from /info: [min, max, step, default]. */
const FIELDS = {
  num_frames: (i) => [i.limits.min_frames, i.limits.max_frames, 1, i.config.default_frames],
  fps: (i) => [i.limits.min_fps, i.limits.max_fps, 1, i.config.default_fps],
  num_inference_steps: (i) => [1, i.limits.max_inference_steps, 1, i.config.default_steps],
  guidance_scale: (i) => [0, i.limits.max_guidance_scale, 0.5, i.config.default_guidance],
  guidance_rescale: () => [0, 1, 0.05, undefined],
};

let info;

/** The frames the model makes for `n` asked: the smallest temporal_compression × k + 1 at or above it. */
export function framesMade(n, compression) {
  return Math.ceil((n - 1) / compression) * compression + 1;
}

/** Limits and defaults from /info; the first call sets the defaults, later ones only the limits. */
export function setUpForm(next) {
  const first = info === undefined;
  info = next;
  for (const [name, of] of Object.entries(FIELDS)) {
    let [min, max, step, value] = of(info);
    if (name === 'guidance_rescale') value = info.config.default_guidance_rescale;
    for (const input of [byId(name), byId(`${name}-range`)]) {
      Object.assign(input, { min: String(min), max: String(max), step: String(step) });
      if (first) input.value = String(value);
    }
    byId(`${name}-hint`).dataset.rule = `${min} to ${max}, default ${value}`;
  }
  const prompt = byId('prompt');
  prompt.maxLength = info.limits.max_prompt_chars;
  if (first) wire();
  hints();
}

function wire() {
  for (const name of Object.keys(FIELDS)) {
    const number = byId(name);
    const range = byId(`${name}-range`);
    range.addEventListener('input', () => {
      number.value = range.value;
      hints();
    });
    number.addEventListener('input', () => {
      if (number.value !== '') range.value = number.value;
      hints();
    });
  }
  byId('prompt').addEventListener('input', hints);
}

/** Each field's range and default, the frames made, the video's length, the prompt's characters left. */
function hints() {
  if (!info) return;
  for (const name of Object.keys(FIELDS)) byId(`${name}-hint`).textContent = byId(`${name}-hint`).dataset.rule;
  const frames = Number(byId('num_frames').value);
  const fps = Number(byId('fps').value);
  if (Number.isInteger(frames) && frames > 0) {
    const made = framesMade(frames, info.config.temporal_compression);
    const length = fps > 0 ? `, ${Math.round((frames / fps) * 100) / 100} s at ${fps} fps` : '';
    const extra = made === frames ? '' : ` (the model makes ${made}, a ${info.config.temporal_compression}k+1 count, and keeps ${frames})`;
    byId('num_frames-hint').textContent += `${length}${extra}`;
  }
  const prompt = byId('prompt');
  byId('prompt-count').textContent = `${prompt.value.length} / ${info.limits.max_prompt_chars}`;
}

/** The body of POST /v1/videos: the prompt, and every number field that holds one (an empty field takes the model's default). */
export function readForm() {
  const body = { prompt: byId('prompt').value };
  const negative = byId('negative_prompt').value;
  if (negative.trim()) body.negative_prompt = negative;
  for (const name of [...Object.keys(FIELDS), 'seed']) {
    const input = byId(name);
    // A number field holding text that is no number reads as ''; valueAsNumber is NaN then.
    if (input.value.trim() !== '') body[name] = Number(input.value);
  }
  return body;
}

/** A job's settings back in the form (its seed too: the same settings make the same video). */
export function fillForm(video) {
  byId('prompt').value = video.prompt;
  byId('negative_prompt').value = video.negative_prompt ?? '';
  for (const name of [...Object.keys(FIELDS), 'seed']) {
    byId(name).value = String(video[name]);
    const range = document.getElementById(`${name}-range`);
    if (range) range.value = String(video[name]);
  }
  if (video.negative_prompt || video.guidance_rescale !== info?.config.default_guidance_rescale) byId('make').querySelector('details').open = true;
  hints();
  byId('prompt').focus();
}
