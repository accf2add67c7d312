/**
 * The jobs API end to end: a real stack (its own nats-server with JetStream
 * and the closed bus, the five workers running cogvideox-tiny's ONNX files,
 * a real ffmpeg, the coordinator over real HTTP). A job is made, followed
 * over Server-Sent Events and downloaded as an MP4 that ffprobe checks; then
 * the coordinator is killed (SIGKILL) while another job is denoising and
 * started again: the completed video downloads byte for byte, the
 * interrupted job runs again to the same frames its seed gives, its events
 * end with `completed`, and the list still holds both.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadModelPackage, MODELS_DIR } from '@spool/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LAYOUT } from '../src/config.ts';
import { loadLayout } from '../src/layout/load.ts';
import { modelFacts } from '../src/layout/resolve.ts';
import { REPO_ROOT, startStack, type Stack } from '../src/stack.ts';
import { decodeRgb, probe } from './helpers/media.ts';
import { parseEvents, type ParsedEvent } from './helpers/videos.ts';

const TOKEN = 'jobs-e2e-token-0123456789abcdef';
const MODEL_DIR = path.join(MODELS_DIR, 'cogvideox-tiny');
const manifest = loadModelPackage(MODEL_DIR).manifest;
const LAYOUT = loadLayout({ file: path.join(REPO_ROOT, DEFAULT_LAYOUT), model: modelFacts(manifest), shorthands: { shards: 2 } });
const auth = { authorization: `Bearer ${TOKEN}` };

interface Video {
  id: string;
  status: string;
  progress: number;
  attempts: number;
  seed: number;
  error: { code: string; message: string } | null;
}

describe('jobs end to end, across a coordinator restart', () => {
  let stack: Stack;
  let dir: string;

  const api = async (method: string, url: string, body?: unknown): Promise<Response> =>
    fetch(`${stack.url}${url}`, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const get = async (id: string): Promise<Video> => (await (await api('GET', `/v1/videos/${id}`)).json()) as Video;
  const waitFor = async (id: string, done: (v: Video) => boolean): Promise<Video> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const v = await get(id).catch(() => undefined);
      if (v && done(v)) return v;
      if (Date.now() > deadline) throw new Error(`job ${id} never got there: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const download = async (id: string, name: string): Promise<{ file: string; bytes: Buffer }> => {
    const res = await api('GET', `/v1/videos/${id}/content`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await res.arrayBuffer());
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return { file, bytes };
  };

  /** Reads a job's event stream until `stop` says so or it ends; the reader is cancelled then. */
  const readEvents = async (id: string, stop: (e: ParsedEvent) => boolean = () => false): Promise<ParsedEvent[]> => {
    const res = await api('GET', `/v1/videos/${id}/events`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return parseEvents(text).events;
        text += decoder.decode(value, { stream: true });
        const complete = text.slice(0, text.lastIndexOf('\n\n') + 2);
        const events = parseEvents(complete).events;
        if (events.some(stop)) return events;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'spool-jobs-e2e-'));
    // Without NATS_URL the stack runs its own nats-server, with JetStream on a store folder that outlives the coordinator.
    stack = await startStack({ modelDir: MODEL_DIR, layout: LAYOUT, tokens: [TOKEN], port: 0, logDir: path.join(dir, 'logs'), env: { SPOOL_LOG_LEVEL: 'info' } });
  });

  afterAll(async () => {
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('makes a job, follows it over events, and downloads an MP4 that ffprobe confirms; a killed coordinator loses no job', async () => {
    // 1. A job to completion: its events end with completed, its MP4 is what was asked for.
    const made = await api('POST', '/v1/videos', { prompt: 'a red circle moving left on a blue background', seconds: '1.125', fps: 8, num_inference_steps: 3, seed: 21 });
    expect(made.status).toBe(200);
    const first = (await made.json()) as Video & { num_frames: number; size: string };
    expect(first).toMatchObject({ status: 'queued', progress: 0, num_frames: 9, size: `${manifest.video.output_width}x${manifest.video.output_height}` });
    const events = await readEvents(first.id);
    expect(events.at(-1)).toMatchObject({ event: 'completed', data: { status: 'completed', progress: 100, content_url: `/v1/videos/${first.id}/content` } });
    const progress = events.map((e) => Number(e.data.progress));
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    const before = await download(first.id, 'first.mp4');
    expect(await probe(before.file)).toEqual({ codec: 'h264', pixFmt: 'yuv420p', frames: 9, fps: '8/1', width: manifest.video.output_width, height: manifest.video.output_height });

    // 2. A long job, killed mid-denoising with the coordinator.
    const longBody = { prompt: 'snow falling at night', num_frames: 9, fps: 8, num_inference_steps: 100, seed: 77 };
    const long = (await (await api('POST', '/v1/videos', longBody)).json()) as Video;
    const seen = await readEvents(long.id, (e) => e.event === 'step' && Number(e.data.step) >= 10);
    expect(seen.at(-1)).toMatchObject({ event: 'step', data: { status: 'in_progress', phase: 'denoising' } });
    await stack.stopProcess('coordinator', 'SIGKILL');
    await stack.startProcess('coordinator');

    // 3. After the restart: the completed video byte for byte, the interrupted job run again to its end.
    const after = await download(first.id, 'first-after.mp4');
    expect(after.bytes.equals(before.bytes)).toBe(true);
    const resumedEvents = await readEvents(long.id);
    expect(resumedEvents.at(-1)).toMatchObject({ event: 'completed', data: { id: long.id, attempts: 2 } });
    const resumed = await waitFor(long.id, (v) => v.status !== 'queued' && v.status !== 'in_progress');
    expect(resumed).toMatchObject({ status: 'completed', progress: 100, attempts: 2, seed: 77, error: null });
    const again = await download(long.id, 'long.mp4');
    expect((await probe(again.file)).frames).toBe(9);
    // Its seed makes the same frames as POST /generate with the same body.
    const direct = await fetch(`${stack.url}/generate`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(longBody) });
    expect(direct.status).toBe(200);
    const directFile = path.join(dir, 'direct.mp4');
    writeFileSync(directFile, Buffer.from(await direct.arrayBuffer()));
    expect((await decodeRgb(again.file)).equals(await decodeRgb(directFile))).toBe(true);

    // 4. No job lost: both listed, newest first.
    const list = (await (await api('GET', '/v1/videos')).json()) as { object: string; data: Video[]; has_more: boolean };
    expect(list.object).toBe('list');
    expect(list.data.map((v) => v.id)).toEqual([long.id, first.id]);
    expect(list.data.map((v) => v.status)).toEqual(['completed', 'completed']);
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^spool_jobs\{status="completed"\} 2$/m);
  });
});
