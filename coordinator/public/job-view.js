/**
 * The selected job: its prompt and settings, a progress bar fed by its event
 * stream (phase, and step of steps while denoising), and once completed its
 * video, fetched with the token as a blob and played from a blob URL, with a
 * download link to the same blob (`<id>.mp4`). Cancel while it runs, delete
 * once it is over. One job is followed at a time: picking another stops the
 * stream of the last and frees its video.
 */
import { ApiError } from './api.js';
import { byId, isUnfinished, phaseText, settingsText, sizeText, sleep } from './dom.js';
import { readEvents } from './events.js';

/** How many times a stream that broke off is opened again (once a second) before the page gives up and says why. */
const RECONNECTS = 30;

export class JobView {
  /**
   * `onChange(video)` is told every new state of the job (the list shows it);
   * `onRemoved(id)` that it was deleted; `onReuse(video)` that its settings are wanted in the form.
   */
  constructor(api, { onChange, onRemoved, onReuse }) {
    this.api = api;
    this.onChange = onChange;
    this.onRemoved = onRemoved;
    this.video = undefined;
    this.follow = undefined;
    this.blobUrl = undefined;
    /** Whether an event stream of the job shown is open (it will tell a cancel's end). */
    this.streaming = false;
    this.el = {
      panel: byId('job'),
      empty: byId('job-empty'),
      body: byId('job-body'),
      prompt: byId('job-prompt'),
      meta: byId('job-meta'),
      progress: byId('progress'),
      percent: byId('progress-percent'),
      phase: byId('progress-label'),
      error: byId('job-error'),
      player: byId('video'),
      download: byId('download'),
      cancel: byId('cancel'),
      remove: byId('delete'),
      reuse: byId('reuse'),
    };
    this.el.cancel.addEventListener('click', () => void this.remove());
    this.el.remove.addEventListener('click', () => void this.remove());
    this.el.reuse.addEventListener('click', () => this.video && onReuse(this.video));
  }

  get id() {
    return this.video?.id;
  }

  /** Shows a job (`known`: its video object when the caller has it), and follows it to its end. */
  async show(id, known) {
    this.follow?.abort();
    this.streaming = false;
    const follow = (this.follow = new AbortController());
    const { signal } = follow;
    this.clearVideo();
    this.el.error.hidden = true;
    this.el.empty.hidden = true;
    this.el.body.hidden = false;
    this.el.progress.value = 0;
    try {
      const video = known ?? (await this.api.json('GET', `/v1/videos/${encodeURIComponent(id)}`, { signal }));
      if (signal.aborted) return;
      this.render(video);
      if (video.status === 'completed') await this.load(video, signal);
      else if (isUnfinished(video)) await this.followEvents(video.id, signal);
    } catch (err) {
      if (!signal.aborted) this.showError(err);
    } finally {
      if (this.follow === follow) this.el.panel.setAttribute('aria-busy', 'false');
    }
  }

  /** Back to the empty panel (the job shown was deleted). */
  clear() {
    this.follow?.abort();
    this.streaming = false;
    this.clearVideo();
    this.video = undefined;
    this.el.body.hidden = true;
    this.el.empty.hidden = false;
  }

  /** Reads the job's events until its last one; a stream that ends without it (a coordinator restarting) is opened again. */
  async followEvents(id, signal) {
    this.el.panel.setAttribute('aria-busy', 'true');
    this.streaming = true;
    try {
      await this.readToEnd(id, signal);
    } finally {
      if (!signal.aborted) this.streaming = false;
    }
  }

  async readToEnd(id, signal) {
    for (let broken = 0; !signal.aborted; ) {
      try {
        const res = await this.api.request('GET', `/v1/videos/${encodeURIComponent(id)}/events`, { signal, accept: 'text/event-stream' });
        for await (const e of readEvents(res, signal)) {
          broken = 0;
          const data = JSON.parse(e.data);
          if (e.event === 'error') throw new ApiError(503, data.code, data.message);
          this.render(data);
          if (e.event === 'completed') return await this.load(data, signal);
          if (e.event === 'failed') return;
        }
      } catch (err) {
        // No answer, or a stream cut off (the coordinator restarting), is tried again; what the API answered is shown.
        const lost = (err instanceof ApiError && err.status === 0) || err instanceof TypeError;
        if (signal.aborted || !lost || broken >= RECONNECTS) throw err;
      }
      if (signal.aborted) return;
      broken++;
      this.el.phase.textContent = `${phaseText(this.video)} (connection lost; reconnecting)`;
      await sleep(1000, signal);
    }
  }

  /** Fetches the finished video with the token, and plays it from a blob URL that the download link shares. */
  async load(video, signal) {
    this.el.phase.textContent = 'Completed: downloading the video';
    const res = await this.api.request('GET', `/v1/videos/${encodeURIComponent(video.id)}/content`, { signal, accept: 'video/mp4' });
    const blob = await res.blob();
    if (signal.aborted) return;
    this.clearVideo();
    this.blobUrl = URL.createObjectURL(blob);
    const { player, download } = this.el;
    player.src = this.blobUrl;
    player.hidden = false;
    // autoplay does it too; a muted video may start without a gesture.
    player.play().catch(() => undefined);
    download.href = this.blobUrl;
    download.download = `${video.id}.mp4`;
    download.textContent = `Download MP4 (${sizeText(blob.size)})`;
    download.hidden = false;
    this.el.phase.textContent = 'Completed';
  }

  /** Cancels the job while it runs, deletes it once over. */
  async remove() {
    const video = this.video;
    if (!video) return;
    this.el.error.hidden = true;
    try {
      const result = await this.api.json('DELETE', `/v1/videos/${encodeURIComponent(video.id)}`);
      if (result.deleted) {
        if (this.id === video.id) this.clear();
        this.onRemoved(video.id);
      } else if (this.id === video.id && !this.streaming) {
        // Cancelled: an open event stream tells its end; without one, look again.
        await this.show(video.id);
      }
    } catch (err) {
      this.showError(err);
    }
  }

  render(video) {
    this.video = video;
    const { el } = this;
    el.prompt.textContent = video.prompt;
    el.meta.textContent = `${settingsText(video)} · ${video.id}`;
    el.progress.value = video.progress;
    el.percent.textContent = `${video.progress}%`;
    el.phase.textContent = phaseText(video);
    el.cancel.hidden = !isUnfinished(video);
    el.remove.hidden = isUnfinished(video);
    if (video.status === 'failed' && video.error) this.showError(new ApiError(0, video.error.code, video.error.message));
    this.onChange(video);
  }

  showError(err) {
    const code = err instanceof ApiError ? err.code : 'ERROR';
    this.el.error.replaceChildren(`${err.message}`, ' ', Object.assign(document.createElement('code'), { textContent: code }));
    this.el.error.hidden = false;
    this.el.panel.setAttribute('aria-busy', 'false');
  }

  clearVideo() {
    const { player, download } = this.el;
    player.pause();
    player.removeAttribute('src');
    player.load();
    player.hidden = true;
    download.hidden = true;
    download.removeAttribute('href');
    if (this.blobUrl) URL.revokeObjectURL(this.blobUrl);
    this.blobUrl = undefined;
  }
}
