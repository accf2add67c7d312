/**
 * `npm run screenshot`: the README's picture of the playground, from a real
 * run. Starts a local stack with the default model, opens GET / in headless
 * Chromium (Debian's, through playwright-core), makes two videos from the
 * page as a person would (token, prompt, settings, Generate), waits until
 * the last one plays, and writes docs/playground.png.
 *
 *   npm run screenshot -- [--model models/cogvideox-mini] [--out docs/playground.png]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '@spool/infra';
import { DEFAULT_MODEL, loadModelPackage, MODELS_DIR } from '@spool/shared';
import { chromium } from 'playwright-core';
import { startLocalStack } from './local-stack.ts';

const { values } = parseArgs({ options: { model: { type: 'string', default: path.join(MODELS_DIR, DEFAULT_MODEL) }, out: { type: 'string' } } });
const pkg = loadModelPackage(path.resolve(values.model!));
const out = path.resolve(values.out ?? path.join(REPO_ROOT, 'docs', 'playground.png'));
const chromiumPath = process.env.SPOOL_CHROMIUM ?? '/usr/bin/chromium';
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const TOKEN = 'playground-screenshot-0123456789';
/** Bounds on waits, not measurements. */
const JOB_WAIT_MS = 300_000;

const VIDEOS = [
  { prompt: 'snow falling at night', num_frames: '49', fps: '8', num_inference_steps: '30', seed: '7' },
  { prompt: 'A serene sunset over the ocean with birds flying in the sky.', num_frames: '49', fps: '8', num_inference_steps: '30', seed: '3' },
];

const stack = await startLocalStack(pkg, 'screenshot', { tokens: [TOKEN] });
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--autoplay-policy=no-user-gesture-required', '--no-first-run'],
});
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 })).newPage();
  await page.goto(`${stack.url}/`);
  await page.waitForFunction(() => document.getElementById('model')?.textContent !== '…');
  await page.fill('#token', TOKEN);
  await page.click('details.more summary');
  for (const video of VIDEOS) {
    for (const [id, value] of Object.entries(video)) await page.fill(`#${id}`, value);
    await page.click('#submit');
    // The download link shows once this job's video is in the page; hide it first so the wait is for this one.
    await page.waitForSelector('#download:not([hidden])', { timeout: JOB_WAIT_MS });
    say(`made: ${video.prompt}`);
    if (video !== VIDEOS.at(-1)) await page.evaluate(() => document.getElementById('download')!.setAttribute('hidden', ''));
  }
  await page.waitForFunction(
    () => {
      const v = document.getElementById('video') as HTMLVideoElement | null;
      return v !== null && v.readyState >= 2 && !v.paused && v.currentTime > 1;
    },
    undefined,
    { timeout: 30_000 },
  );
  await page.click('details.more summary');
  await page.screenshot({ path: out, fullPage: true });
  say(`written ${path.relative(process.cwd(), out)}`);
} finally {
  await browser.close();
  await stack.stop();
}
