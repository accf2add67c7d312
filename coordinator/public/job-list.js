/**
 * The token's jobs (GET /v1/videos, newest first, the first page): each a
 * button with its prompt, status, progress and time; a click shows it. The
 * job shown keeps its row current through `update`; jobs still running that
 * are not shown are looked at again every few seconds. With no token, or a
 * wrong one, the list says so with the API's message.
 */
import { byId, h, isUnfinished, phaseText, sleep, timeText } from './dom.js';

/** Jobs on the list: the API's default page. */
const PAGE = 20;
/** How often jobs still running are looked at again while not shown, ms. */
const POLL_MS = 3000;

export class JobList {
  constructor(api, { onPick }) {
    this.api = api;
    this.onPick = onPick;
    this.videos = new Map();
    this.selected = undefined;
    this.el = { list: byId('jobs'), note: byId('jobs-note') };
    this.refreshing = undefined;
    void this.poll();
  }

  /** Loads the first page again; a refresh asked for while one runs waits for it. */
  refresh() {
    this.refreshing ??= this.load().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  async load() {
    const { note } = this.el;
    note.classList.remove('error');
    try {
      const page = await this.api.json('GET', `/v1/videos?limit=${PAGE}`);
      this.videos = new Map(page.data.map((v) => [v.id, v]));
      this.render();
    } catch (err) {
      this.videos = new Map();
      this.render();
      note.textContent = err.message;
      note.classList.add('error');
    }
  }

  /** A job just made: first on the list. */
  add(video) {
    this.videos = new Map([[video.id, video], ...this.videos]);
    this.render();
  }

  /** A job's new state; a job not on the list is left out (it is on a later page). */
  update(video) {
    if (!this.videos.has(video.id)) return;
    this.videos.set(video.id, video);
    const row = this.el.list.querySelector(`[data-id="${video.id}"]`);
    if (row) row.replaceWith(this.row(video));
    else this.render();
  }

  remove(id) {
    this.videos.delete(id);
    this.render();
  }

  /** Marks the job shown. */
  mark(id) {
    this.selected = id;
    for (const b of this.el.list.querySelectorAll('button[data-id]')) b.setAttribute('aria-current', String(b.dataset.id === id));
  }

  render() {
    const rows = [...this.videos.values()].map((v) => h('li', {}, this.row(v)));
    this.el.list.replaceChildren(...rows);
    this.el.note.textContent = rows.length === 0 ? 'No videos yet with this token.' : '';
  }

  row(v) {
    const done = v.status === 'completed';
    const state = h('span', { class: 'state', dataset: { status: v.status } }, isUnfinished(v) ? `${phaseText(v)} · ${v.progress}%` : phaseText(v));
    return h(
      'button',
      { type: 'button', class: 'job-row', dataset: { id: v.id }, 'aria-current': String(v.id === this.selected), onclick: () => this.onPick(v.id) },
      h('span', { class: 'job-row-prompt' }, v.prompt),
      h('span', { class: 'job-row-meta' }, state, h('span', {}, `${v.num_frames} frames · ${v.seconds} s`), h('time', { datetime: new Date(v.created_at * 1000).toISOString() }, timeText(v.created_at))),
      h('progress', { max: 100, value: v.progress, class: done ? 'done' : '', 'aria-label': `${v.prompt}: ${v.progress}%` }),
    );
  }

  /** Jobs running that are not shown (made elsewhere, or left for another) are looked at again now and then. */
  async poll() {
    for (;;) {
      await sleep(POLL_MS);
      if (document.visibilityState !== 'visible') continue;
      const others = [...this.videos.values()].filter((v) => isUnfinished(v) && v.id !== this.selected);
      if (others.length > 0) await this.refresh();
    }
  }
}
