/**
 * Small helpers of the playground: elements made from nodes (never from HTML
 * text, which the page's Trusted Types policy forbids anyway), and the words
 * a job's state is shown with.
 */

/** `h('li', { class: 'job', dataset: { id } }, child, 'text')`: an element with attributes and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name in el && typeof value !== 'string') el[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  el.append(...children.filter((c) => c !== undefined && c !== null && c !== false));
  return el;
}

export const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el;
};

/** Whether a job can still change (its status is queued or in_progress). */
export const isUnfinished = (v) => v.status === 'queued' || v.status === 'in_progress';

/** Where a job is, in words: its phase and step when an event said, else its status. */
export function phaseText(v) {
  switch (v.phase ?? v.status) {
    case 'queued':
      return 'Queued: waiting for a free slot';
    case 'encoding':
      return 'Encoding the prompt';
    case 'denoising':
      return v.steps ? `Denoising: step ${v.step} of ${v.steps}` : 'Denoising';
    case 'decoding':
      return 'Decoding and storing the video';
    case 'in_progress':
      return 'In progress';
    case 'completed':
      return 'Completed';
    case 'failed':
      return v.error?.code === 'SPOOL_ERR_CANCELLED' ? 'Cancelled' : 'Failed';
    default:
      return String(v.phase ?? v.status);
  }
}

/** The settings a job was made with, in one line. */
export function settingsText(v) {
  const parts = [`${v.num_frames} frames`, `${v.fps} fps`, `${v.num_inference_steps} steps`, `guidance ${v.guidance_scale}`];
  if (v.guidance_rescale) parts.push(`rescale ${v.guidance_rescale}`);
  parts.push(`seed ${v.seed}`, v.size);
  return parts.join(' · ');
}

/** "14:03" today, "3 Jan 14:03" before. */
export function timeText(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toDateString() === new Date().toDateString() ? time : `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}

/** "1.2 MB", "830 KB". */
export function sizeText(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} KB`;
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
