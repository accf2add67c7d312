/**
 * Requests refused before a route runs still answer in the error shape
 * `{error, code, message}`: a URL that is not valid percent-encoding (the
 * router), a body that is not UTF-8 (the JSON parser), and requests Node's
 * HTTP parser refuses (over a real socket on 127.0.0.1, since inject()
 * never goes through that parser).
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clientErrorOf } from '../src/http/error-handler.ts';
import { listen } from '../src/server.ts';
import { auth, FAKE_MP4, testApp } from './helpers.ts';

let current: ReturnType<typeof testApp> | undefined;
function app() {
  current = testApp();
  return current.app;
}
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const post = (payload: string | Buffer, url = '/generate') => ({
  method: 'POST' as const,
  url,
  headers: { ...auth, 'content-type': 'application/json' },
  payload,
});

describe('the router', () => {
  it('answers a path that is not valid percent-encoding with a 400 in the error shape', async () => {
    const res = await app().inject(post('{"prompt":"a fox"}', '/generate/%zz'));
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      error: 'Bad Request',
      code: 'SPOOL_ERR_VALIDATION',
      message: 'the URL path "/generate/%zz" is not valid percent-encoding',
    });
  });

  it('repeats at most 100 characters of an unknown path', async () => {
    const res = await app().inject({ method: 'GET', url: `/${'a'.repeat(5000)}` });
    expect(res.statusCode).toBe(404);
    const { message } = res.json() as { message: string };
    expect(message).toContain(`/${'a'.repeat(99)}…;`);
    expect(message.length).toBeLessThan(300);
  });
});

describe('the JSON body parser', () => {
  it('refuses bytes that are not UTF-8 instead of running with U+FFFD in the prompt', async () => {
    const a = app();
    const body = Buffer.concat([Buffer.from('{"prompt":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const res = await a.inject(post(body));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: 'Bad Request', code: 'SPOOL_ERR_VALIDATION', message: 'the request body is not valid UTF-8; send the JSON as UTF-8' });
    expect(current?.pipeline.calls.prompts).toEqual([]);
  });

  it('still takes UTF-8 with or without a byte order mark, and keeps the parser checks', async () => {
    const a = app();
    const ok = await a.inject(post(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"prompt":"café ☕"}')])));
    expect(ok.statusCode).toBe(200);
    expect(new Uint8Array(ok.rawPayload)).toEqual(FAKE_MP4);
    expect(current?.pipeline.calls.prompts).toEqual([['', 'café ☕']]);
    expect((await a.inject(post(''))).json().message).toMatch(/request body is empty/);
    expect((await a.inject(post('{"prompt":"a",'))).json().message).toBe('the request body is not valid JSON');
    expect((await a.inject(post('{"prompt":"a","__proto__":{"x":1}}'))).json().message).toBe('the request body is not valid JSON');
    expect((await a.inject(post(`{"prompt":"${'x'.repeat(70_000)}"}`))).json().message).toBe('the request body is larger than 65536 bytes');
  });
});

/** Sends raw bytes and returns everything the server writes before it closes the connection. */
async function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(request);
  });
}

function parseResponse(text: string): { status: number; headers: string; body: unknown } {
  const [head, body] = text.split('\r\n\r\n', 2);
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) };
}

describe("requests Node's HTTP parser refuses", () => {
  it.each([
    ['a Content-Length that is not a number', 'POST /generate HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', /Content-Length/],
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', /not valid HTTP\/1.1/],
    ['Content-Length beside Transfer-Encoding', 'POST /generate HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /not valid HTTP\/1.1/],
  ])('%s: 400 in the error shape', async (_name, request, message) => {
    const a = app();
    const port = Number(new URL(await listen(a, '127.0.0.1', 0)).port);
    const res = parseResponse(await raw(port, request));
    expect(res.status).toBe(400);
    expect(res.headers).toContain('content-type: application/json');
    expect(res.body).toEqual({ error: 'Bad Request', code: 'SPOOL_ERR_VALIDATION', message: expect.stringMatching(message) });
  });

  it('headers over the limit: 431 SPOOL_ERR_HEADERS_TOO_LARGE', async () => {
    const a = app();
    const port = Number(new URL(await listen(a, '127.0.0.1', 0)).port);
    const res = parseResponse(await raw(port, `POST /generate HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`));
    expect(res.status).toBe(431);
    expect(res.body).toEqual({
      error: 'Request Header Fields Too Large',
      code: 'SPOOL_ERR_HEADERS_TOO_LARGE',
      message: 'the request headers are larger than the server accepts (16 KiB in all by default)',
    });
  });

  it('a request not received in time: 408 SPOOL_ERR_CLIENT_TIMEOUT', () => {
    const e = clientErrorOf(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }));
    expect([e.status, e.code]).toEqual([408, 'SPOOL_ERR_CLIENT_TIMEOUT']);
  });
});
