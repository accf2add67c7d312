/**
 * The playground in a real browser against a real stack: Debian's chromium,
 * headless, driven with playwright-core, opens GET / of a stack running
 * cogvideox-tiny (its own nats-server, the five workers, ffmpeg, the
 * coordinator over HTTP). A wrong token shows the API's 401 message, a bad
 * frame count its 400; with the right token a prompt becomes a job whose
 * progress bar moves to 100 as its events come, whose video plays from a
 * blob URL, and whose download is an MP4 that ffprobe reads with the frames
 * asked for; the job list shows it; a long job is cancelled and a finished
 * one deleted from the page, and the page fits a phone's width. The page logs no error (a CSP violation would
 * be one). A screenshot of the page playing the video is kept at
 * .spool/artifacts/playground.png.
 *
 * Without a browser (bootstrap-browser.sh could not install chromium, or
 * SPOOL_CHROMIUM does not run) the test is skipped, saying why.
 */
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelPackage, MODELS_DIR } from '@spool/shared';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from '../src/config.ts';
import { loadLayout } from '../src/layout/load.ts';
import { modelFacts } from '../src/layout/resolve.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { probe } from './helpers/media.ts';

const TOKEN = 'playground-token-0123456789abcdef';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;
const LAYOUT = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } });
const CHROMIUM = process.env.SPOOL_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(REPO_ROOT, '.spool', 'artifacts', 'playground.png');
/** Bounds on waits for the page, not speed assertions: a job of a few steps on cogvideox-tiny. */
const JOB_WAIT_MS = 120_000;
const PLAY_WAIT_MS = 30_000;

/** Why there is no browser to drive, or undefined when there is one. */
function noBrowser(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    const reasonFile = path.join(REPO_ROOT, '.spool', 'browser-unavailable');
    const reason = existsSync(reasonFile) ? readFileSync(reasonFile, 'utf8').trim() : `${CHROMIUM} is missing`;
    return `no browser for the playground test: ${reason} (bash infra/bin/bootstrap-browser.sh installs Debian's chromium)`;
  }
}

const missing = noBrowser();
if (missing) console.warn(`[playground.test] skipped: ${missing}`);

describe('the playground page in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let dir: string;
  /** What the page logged as errors, and scripts that threw: none is expected. */
  const problems: string[] = [];

  beforeAll(async () => {
    if (missing) return;
    dir = mkdtempSync(path.join(tmpdir(), 'spool-playground-'));
    stack = await startStack({ modelDir: MODEL_DIR, layout: LAYOUT, tokens: [TOKEN], port: 0, logDir: path.join(dir, 'logs'), env: { SPOOL_LOG_LEVEL: 'info' } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required', '--no-first-run'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, deviceScaleFactor: 1 });
    page = await context.newPage();
    page.on('console', (m) => {
      // A 4xx the page asked for is logged by the browser as a failed load; the page shows those itself.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Fills the form's fields (by id) and presses Generate. */
  const submit = async (fields: Record<string, string>): Promise<void> => {
    for (const [id, value] of Object.entries(fields)) await page.fill(`#${id}`, value);
    await page.click('#submit');
  };
  const text = async (selector: string): Promise<string> => (await page.textContent(selector)) ?? '';

  it('makes a video from a prompt, shows its progress, plays it, downloads it, lists it; wrong input shows the API\'s message', async (ctx) => {
    ctx.skip(missing !== undefined, missing);
    const response = await page.goto(`${stack.url}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    // The form takes its limits and defaults from GET /info.
    await page.waitForFunction(() => document.getElementById('model')?.textContent !== '…');
    expect(await text('#model')).toBe(manifest.name);
    expect(await page.getAttribute('#num_frames', 'min')).toBe(String(manifest.limits.min_frames));
    expect(await page.getAttribute('#num_frames', 'max')).toBe(String(manifest.limits.max_frames));
    expect(await page.inputValue('#num_frames')).toBe(String(manifest.defaults.num_frames));
    expect(await page.getAttribute('#num_inference_steps', 'max')).toBe(String(manifest.limits.max_inference_steps));
    expect(await page.inputValue('#fps')).toBe(String(manifest.defaults.fps));

    // 1. A wrong token: the API's 401 message, on the form and on the list.
    await submit({ token: 'not-the-token', prompt: 'a red circle moving left on a blue background' });
    await page.waitForSelector('#form-error:not([hidden])');
    expect(await text('#form-error')).toBe('the bearer token is not valid');
    await page.waitForFunction(() => document.getElementById('jobs-note')?.textContent === 'the bearer token is not valid');

    // 2. The right token (kept in local storage, never in the address), a frame count the model does not make: the API's 400.
    await page.fill('#token', TOKEN);
    await submit({ num_frames: String(manifest.limits.max_frames + 1) });
    await page.waitForFunction(() => document.getElementById('form-error')?.textContent?.includes('num_frames'));
    expect(await text('#form-error')).toContain(`from ${manifest.limits.min_frames} to ${manifest.limits.max_frames}`);
    expect(await page.evaluate(() => localStorage.getItem('spool.token'))).toBe(TOKEN);
    expect(page.url()).not.toContain(TOKEN);

    // 3. A job: the progress bar's values are recorded as the page sets them.
    await page.evaluate(() => {
      const bar = document.getElementById('progress') as HTMLProgressElement;
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      new MutationObserver(() => seen.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
    });
    await page.click('details.more summary');
    await submit({ num_frames: '9', fps: '8', num_inference_steps: '4', seed: '21', guidance_scale: '6' });
    await page.waitForSelector('#download:not([hidden])', { timeout: JOB_WAIT_MS });
    expect(await page.isHidden('#form-error')).toBe(true);
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(new Set(seen).size, `progress values seen: ${seen.join(', ')}`).toBeGreaterThan(2);
    expect(seen.at(-1)).toBe(100);
    expect(await text('#progress-percent')).toBe('100%');
    expect(await text('#progress-label')).toBe('Completed');
    const id = /#(video_[0-9a-f]+)$/.exec(page.url())?.[1] ?? '';
    expect(id, page.url()).not.toBe('');

    // 4. The video plays from a blob URL: loaded, and its time moves on.
    const video = page.locator('#video');
    expect(await video.getAttribute('src')).toMatch(/^blob:/);
    await page.waitForFunction(() => (document.getElementById('video') as HTMLVideoElement).readyState >= 2, undefined, { timeout: PLAY_WAIT_MS });
    await page.waitForFunction(
      () => {
        const v = document.getElementById('video') as HTMLVideoElement;
        return !v.paused && v.currentTime > 0;
      },
      undefined,
      { timeout: PLAY_WAIT_MS },
    );
    const facts = await video.evaluate((v: HTMLVideoElement) => ({ error: v.error?.message ?? null, muted: v.muted, loop: v.loop, width: v.videoWidth, height: v.videoHeight }));
    expect(facts).toEqual({ error: null, muted: true, loop: true, width: manifest.video.output_width, height: manifest.video.output_height });

    // 5. The download link hands over the same bytes: an MP4 of the frames asked for.
    expect(await page.getAttribute('#download', 'href')).toMatch(/^blob:/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    expect(download.suggestedFilename()).toBe(`${id}.mp4`);
    const file = path.join(dir, `${id}.mp4`);
    await download.saveAs(file);
    expect(await probe(file)).toEqual({ codec: 'h264', pixFmt: 'yuv420p', frames: 9, fps: '8/1', width: manifest.video.output_width, height: manifest.video.output_height });

    // 6. The list shows it, completed.
    const row = page.locator(`#jobs button[data-id="${id}"]`);
    await expect.poll(async () => row.textContent()).toContain('Completed');
    expect(await row.textContent()).toContain('a red circle moving left on a blue background');
    expect(await row.getAttribute('aria-current')).toBe('true');

    // The page as people see it, the video playing.
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // 7. A long job is cancelled from the page: its events end with the cancel, and the list says so.
    await submit({ prompt: 'snow falling at night', num_inference_steps: String(manifest.limits.max_inference_steps), seed: '' });
    await page.waitForFunction((first) => !location.hash.endsWith(first) && Number((document.getElementById('progress') as HTMLProgressElement).value) > 1, id, {
      timeout: JOB_WAIT_MS,
    });
    const long = /#(video_[0-9a-f]+)$/.exec(page.url())![1];
    await page.click('#cancel');
    await page.waitForFunction(() => document.getElementById('progress-label')?.textContent === 'Cancelled', undefined, { timeout: JOB_WAIT_MS });
    expect(await text('#job-error')).toContain('SPOOL_ERR_CANCELLED');
    expect(await page.isHidden('#cancel')).toBe(true);
    await expect.poll(async () => page.locator(`#jobs button[data-id="${long}"]`).textContent()).toContain('Cancelled');

    // 8. A finished job is deleted from the page: off the list, and gone from the API.
    await page.click('#delete');
    await page.waitForSelector(`#jobs button[data-id="${long}"]`, { state: 'detached' });
    expect(await page.isVisible('#job-empty')).toBe(true);
    const gone = await fetch(`${stack.url}/v1/videos/${long}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(gone.status).toBe(404);
    expect(await page.locator('#jobs button[data-id]').count()).toBe(1);

    // 9. On a phone's width the page is one column that fits: nothing runs off to the side.
    await page.setViewportSize({ width: 390, height: 800 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.isVisible('#submit')).toBe(true);

    expect(problems).toEqual([]);
  });
});
