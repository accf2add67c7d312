/**
 * The playground page: the token (kept in this browser's local storage, sent
 * only as a header), the form whose fields take their limits and defaults
 * from GET /info, and the two views it drives: the job shown (`JobView`:
 * progress from its events, then its video) and the token's jobs
 * (`JobList`). A made job is shown at once and put at the top of the list.
 */
import { createApi } from './api.js';
import { byId, sleep } from './dom.js';
import { JobList } from './job-list.js';
import { JobView } from './job-view.js';
import { readForm, setUpForm, fillForm } from './form.js';

const TOKEN_KEY = 'spool.token';

/** localStorage can be off (a private window's policy); the token then lasts as long as the page. */
const storage = {
  get: () => {
    try {
      return localStorage.getItem(TOKEN_KEY) ?? '';
    } catch {
      return '';
    }
  },
  set: (value) => {
    try {
      if (value) localStorage.setItem(TOKEN_KEY, value);
      else localStorage.removeItem(TOKEN_KEY);
    } catch {
      // Not kept; still used.
    }
  },
};

const token = byId('token');
token.value = storage.get();
const api = createApi(() => token.value);

const view = new JobView(api, {
  onChange: (video) => list.update(video),
  onRemoved: (id) => {
    list.remove(id);
    if (location.hash === `#${id}`) history.replaceState(null, '', location.pathname);
  },
  onReuse: (video) => fillForm(video),
});
const list = new JobList(api, { onPick: (id) => select(id) });

/** Shows one job, and names it in the address (`#video_…`) so a reload shows it again. */
function select(id, known) {
  if (location.hash !== `#${id}`) history.replaceState(null, '', `#${id}`);
  list.mark(id);
  void view.show(id, known);
}

// The token: saved as it is typed; a new one reloads the list (each token sees its own jobs).
let typed;
token.addEventListener('input', () => {
  storage.set(token.value.trim());
  clearTimeout(typed);
  typed = setTimeout(() => void list.refresh(), 400);
});
const show = byId('token-show');
show.addEventListener('click', () => {
  const visible = token.type === 'password';
  token.type = visible ? 'text' : 'password';
  show.textContent = visible ? 'Hide' : 'Show';
  show.setAttribute('aria-pressed', String(visible));
});

// The form: sent with POST /v1/videos; the API's 400 (or 401, 429, 503) is shown as it says it.
const form = byId('make');
const submit = byId('submit');
const formError = byId('form-error');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  formError.hidden = true;
  submit.disabled = true;
  try {
    const video = await api.json('POST', '/v1/videos', { body: readForm() });
    list.add(video);
    select(video.id, video);
  } catch (err) {
    formError.textContent = err.message;
    formError.hidden = false;
  } finally {
    submit.disabled = false;
  }
});
byId('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
byId('refresh').addEventListener('click', () => void list.refresh());

// The model's limits and defaults, the workers' health and the queue: GET /info and /health take no token.
async function loadInfo({ quiet = false } = {}) {
  try {
    const info = await api.json('GET', '/info');
    byId('model').textContent = info.model;
    setUpForm(info);
    const q = info.queue;
    byId('queue').textContent = `${q.running} running, ${q.waiting} waiting` + (q.estimated_wait_s > 0 ? `, about ${Math.round(q.estimated_wait_s)} s wait` : '');
  } catch (err) {
    // Said once, when the page opens; a later look that fails leaves the form as it is (the health badge tells).
    if (quiet) return;
    formError.textContent = `cannot read the model's limits: ${err.message}`;
    formError.hidden = false;
  }
}

async function loadHealth() {
  const badge = byId('health');
  try {
    const res = await fetch('/health', { cache: 'no-store' });
    const body = await res.json();
    badge.textContent = body.status === 'healthy' ? 'ready' : 'not ready';
    badge.dataset.state = body.status === 'healthy' ? 'ok' : 'bad';
    badge.title = body.message ?? '';
  } catch {
    badge.textContent = 'unreachable';
    badge.dataset.state = 'bad';
  }
}

await loadInfo();
void loadHealth();
await list.refresh();
const wanted = /^#(video_[0-9a-f]+)$/.exec(location.hash)?.[1];
if (wanted && token.value.trim()) select(wanted);

// Health and queue now and then, while the page is looked at.
for (;;) {
  await sleep(10_000);
  if (document.visibilityState !== 'visible') continue;
  void loadHealth();
  void loadInfo({ quiet: true });
}
