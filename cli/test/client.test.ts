/**
 * The CLI's side of HTTP against a scripted server on 127.0.0.1: where the
 * server and token come from, refusals as exit codes with the server's
 * message, following a job whose event stream breaks, and a video that
 * breaks off leaving no file behind.
 */
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '@spool/shared/config';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpoolClient } from '../src/client.ts';
import { checkUrl, loadConfig, resolveServer, type Server } from '../src/config.ts';
import { CliError } from '../src/errors.ts';
import { EXIT } from '../src/exit-codes.ts';
import { followJob } from '../src/follow.ts';
import type { JobProgress } from '../src/progress.ts';
import { prepareTarget } from '../src/save-video.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let dir: string;
let http: HttpServer;
let url: string;
let handler: Handler;

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'spool-cli-client-'));
  http = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
});

afterEach(async () => {
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const server = (tokenSource: Server['tokenSource'] = '--token'): Server => ({ url, token: 'tok-0123456789abcdef', tokenSource, tokenFile: '/repo/.spool/token' });

async function refusedWith(p: Promise<unknown>): Promise<CliError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CliError);
  return err as CliError;
}

const video = (status: string, progress: number) => ({ id: 'video_1', object: 'video', status, progress, num_inference_steps: 2, error: null });

describe('the server and token', () => {
  it('takes --url and --token first, then SPOOL_URL and SPOOL_TOKEN, then the default and the repository token file', () => {
    mkdirSync(path.join(dir, '.spool'));
    writeFileSync(path.join(dir, '.spool', 'token'), 'from-file-0123456789\n');
    const env = loadConfig({ SPOOL_URL: 'http://env:1/', SPOOL_TOKEN: 'from-env' });
    expect(resolveServer(env, { url: 'http://flag:2', token: ' from-flag ' }, dir)).toMatchObject({ url: 'http://flag:2', token: 'from-flag', tokenSource: '--token' });
    expect(resolveServer(env, {}, dir)).toMatchObject({ url: 'http://env:1', token: 'from-env', tokenSource: 'SPOOL_TOKEN' });
    expect(resolveServer(loadConfig({}), {}, dir)).toMatchObject({ url: 'http://127.0.0.1:9000', token: 'from-file-0123456789', tokenSource: 'file' });
    expect(resolveServer(loadConfig({}), {}, path.join(dir, 'nowhere'))).toMatchObject({ tokenSource: 'none' });
    expect(() => resolveServer(env, { token: ' ' }, dir)).toThrow(/--token is empty/);
  });

  it('checks URLs and settings, saying what to give', () => {
    expect(checkUrl('https://host/prefix/', '--url')).toBe('https://host/prefix');
    expect(() => checkUrl('localhost:9000', '--url')).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
    expect(() => checkUrl('http://h/?a=1', '--url')).toThrow(/must not have a query/);
    expect(() => loadConfig({ SPOOL_CLI_RECONNECT_S: 'soon' })).toThrow(ConfigError);
    expect(loadConfig({ SPOOL_CLI_RECONNECT_S: '2' }).reconnectMs).toBe(2000);
  });
});

describe('SpoolClient', () => {
  it("turns refusals into exit codes with the server's code and message", async () => {
    const answers: Record<string, [number, Record<string, string>, string]> = {
      '/401': [401, { 'content-type': 'application/json' }, JSON.stringify({ code: 'SPOOL_ERR_UNAUTHORIZED', message: 'the token is not valid' })],
      '/400': [400, { 'content-type': 'application/json' }, JSON.stringify({ code: 'SPOOL_ERR_VALIDATION', message: 'num_frames must be an integer from 8 to 100 (got 500)', error: { type: 'invalid_request_error' } })],
      '/429': [429, { 'content-type': 'application/json', 'retry-after': '12' }, JSON.stringify({ code: 'SPOOL_ERR_QUEUE_FULL', message: 'the queue is full' })],
      '/502': [502, { 'content-type': 'text/html' }, '<html>bad gateway</html>'],
    };
    handler = (req, res) => {
      const [status, headers, body] = answers[req.url!]!;
      res.writeHead(status, headers).end(body);
    };
    const client = new SpoolClient(server());
    const e401 = await refusedWith(client.json('GET', '/401'));
    expect(e401).toMatchObject({ exit: EXIT.UNAUTHORIZED, details: { code: 'SPOOL_ERR_UNAUTHORIZED', status: 401 } });
    expect(e401.message).toBe('the token is not valid; the token from --token was refused: give one of the server\'s tokens (SPOOL_API_TOKENS, or .spool/token of the repository it runs from)');
    expect((await refusedWith(new SpoolClient(server('none')).json('GET', '/401'))).message).toMatch(/no token was given: pass --token or set SPOOL_TOKEN/);
    expect(await refusedWith(client.json('POST', '/400', { body: {} }))).toMatchObject({ exit: EXIT.REFUSED, message: 'num_frames must be an integer from 8 to 100 (got 500)', details: { code: 'SPOOL_ERR_VALIDATION' } });
    expect(await refusedWith(client.json('GET', '/429'))).toMatchObject({ exit: EXIT.BUSY, details: { retryAfterS: 12 } });
    const e502 = await refusedWith(client.json('GET', '/502'));
    expect(e502.exit).toBe(EXIT.SERVER_ERROR);
    expect(e502.message).toContain(`without spool's error: is ${url} a spool server?`);
  });

  it('follows a job through a broken event stream by polling, then its events again, to its end', async () => {
    let streams = 0;
    handler = (req, res) => {
      if (req.url === '/v1/videos/video_1/events') {
        streams++;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (streams === 1) {
          // The first stream tells one step and breaks off, as a killed coordinator's does.
          res.write(`event: step\ndata: ${JSON.stringify({ ...video('in_progress', 45), phase: 'denoising', step: 1, steps: 2 })}\n\n`);
          setTimeout(() => res.destroy(), 50);
        } else {
          res.end(`: keep-alive\n\nevent: completed\ndata: ${JSON.stringify({ ...video('completed', 100), phase: 'completed', step: 2, steps: 2, content_url: '/c' })}\n\n`);
        }
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(video('in_progress', 90)));
    };
    const seen: JobProgress[] = [];
    const notes: string[] = [];
    const done = await followJob(new SpoolClient(server()), 'video_1', { signal: new AbortController().signal, reconnectMs: 10_000, onProgress: (p) => seen.push(p), onNote: (n) => notes.push(n) });
    expect(done).toMatchObject({ id: 'video_1', status: 'completed', progress: 100 });
    expect(done).not.toHaveProperty('phase');
    expect(seen.map((p) => `${p.phase} ${p.step}/${p.steps} ${p.progress}`)).toEqual(['denoising 1/2 45', 'in_progress 0/2 90', 'completed 2/2 100']);
    expect(streams).toBe(2);
    expect(notes[0]).toMatch(/^lost the event stream of video_1 \(the connection broke: .*\); trying again until it ends$/);
    expect(notes[1]).toMatch(/^reconnected to http:\/\/127\.0\.0\.1:\d+ after \d+ s$/);
  });

  it('gives up following after the reconnect time without reaching the server (exit 3)', async () => {
    const client = new SpoolClient({ ...server(), url: 'http://127.0.0.1:1' });
    const err = await refusedWith(followJob(client, 'video_1', { signal: new AbortController().signal, reconnectMs: 0, onProgress: () => undefined, onNote: () => undefined }));
    expect(err.exit).toBe(EXIT.UNREACHABLE);
    expect(err.message).toMatch(/^gave up waiting for video_1 after \d+ s without reaching the server/);
  });

  it('writes a whole video under its name, and nothing when the answer breaks off', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '1000' });
      if (req.url === '/whole') res.end(Buffer.alloc(1000, 1));
      else {
        res.write(Buffer.alloc(400, 1));
        setTimeout(() => res.destroy(), 50);
      }
    };
    const client = new SpoolClient(server());
    const whole = path.join(dir, 'whole.mp4');
    expect(await (await prepareTarget(whole)).write(await client.open('GET', '/whole'))).toEqual({ file: whole, bytes: 1000 });
    const broken = await refusedWith((await prepareTarget(path.join(dir, 'broken.mp4'))).write(await client.open('GET', '/broken')));
    expect(broken.exit).toBe(EXIT.UNREACHABLE);
    expect(broken.message).toMatch(/^the video broke off after 400 bytes of 1000/);
    expect(readdirSync(dir)).toEqual(['whole.mp4']);
  });
});
