/**
 * GET /, the playground: the page and every file it loads (scripts, the
 * modules they import, the stylesheet, the icon) come from this server with
 * no token, under a Content-Security-Policy that allows this origin only
 * (and blob: for the video), with no inline script or style in the page and
 * no other host named anywhere; the routes stay out of the OpenAPI document
 * and stay up while draining. The page's pure parts (the event-stream
 * parser, the frames the model makes) run here as the browser runs them.
 */
import { readdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { framesMade } from '../public/form.js';
import { EventStreamParser } from '../public/events.js';
import { isPlaygroundRoute, PLAYGROUND_CSP, PUBLIC_DIR } from '../src/http/playground.ts';
import { declaredRoutes } from '../src/http/route-catalog.ts';
import { Drain } from '../src/lifecycle/drain.ts';
import { appPerTest } from './helpers.ts';

const app = appPerTest();

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

/** The files an HTML page loads (script src, link href, img src) as paths on this server; throws on another origin. */
function pageRefs(html: string): string[] {
  const refs = [...html.matchAll(/<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  return refs.map((ref) => {
    const url = new URL(ref, 'http://127.0.0.1/');
    expect(url.origin, ref).toBe('http://127.0.0.1');
    return url.pathname;
  });
}

/** The modules a script imports (`from './x.js'`), as paths resolved against its own. */
function importsOf(js: string, from: string): string[] {
  return [...js.matchAll(/\bfrom\s+'([^']+)'/g)].map((m) => new URL(m[1], `http://127.0.0.1${from}`).pathname);
}

/** Every path the page reaches from / through its tags and imports, with its answer. */
async function crawl(a: FastifyInstance): Promise<Map<string, Awaited<ReturnType<FastifyInstance['inject']>>>> {
  const seen = new Map<string, Awaited<ReturnType<FastifyInstance['inject']>>>();
  const queue = ['/'];
  while (queue.length > 0) {
    const url = queue.shift()!;
    if (seen.has(url)) continue;
    const res = await a.inject({ method: 'GET', url });
    seen.set(url, res);
    if (url === '/') queue.push(...pageRefs(res.body));
    else if (url.endsWith('.js')) queue.push(...importsOf(res.body, url));
  }
  return seen;
}

describe('GET /: the playground page', () => {
  it('serves the page and every file it loads or imports, from this server, with no token', async () => {
    const files = await crawl(app());
    const paths = [...files.keys()];
    expect(paths).toEqual(expect.arrayContaining(['/', '/playground/playground.js', '/playground/playground.css', '/playground/icon.svg', '/playground/job-view.js', '/playground/events.js']));
    for (const [url, res] of files) {
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toBe(TYPES[url === '/' ? 'html' : url.split('.').pop()!]);
      expect(res.rawPayload.byteLength, url).toBeGreaterThan(0);
      expect(Number(res.headers['content-length']), url).toBe(res.rawPayload.byteLength);
      // No other host is named: the page works with no network but this server's (comments and the SVG's namespace aside).
      const text = res.body.replace(/^\s*(\/\/|\*|\/\*\*).*$/gm, '').replace('http://www.w3.org/2000/svg', '');
      expect(text, url).not.toMatch(/\b(https?:)?\/\/[a-z0-9-]+(\.[a-z0-9-]+)+/i);
    }
    // Every script or stylesheet in the folder is reached: none is left unused.
    const served = readdirSync(PUBLIC_DIR).filter((f) => /\.(js|css|svg)$/.test(f) && !f.endsWith('.d.ts'));
    expect(served.map((f) => `/playground/${f}`).sort()).toEqual(paths.filter((p) => p !== '/').sort());
  });

  it('sends strong security headers on every file: this origin only, blob: for media, no inline script, not framed', async () => {
    const files = await crawl(app());
    for (const [url, res] of files) {
      const h = res.headers;
      expect(h['content-security-policy'], url).toBe(PLAYGROUND_CSP);
      expect(h['x-content-type-options'], url).toBe('nosniff');
      expect(h['x-frame-options'], url).toBe('DENY');
      expect(h['referrer-policy'], url).toBe('no-referrer');
      expect(h['cross-origin-opener-policy'], url).toBe('same-origin');
      expect(h['etag'], url).toMatch(/^"[A-Za-z0-9_-]+"$/);
    }
    const directives = new Map(PLAYGROUND_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...sources]) => [name, sources]));
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('media-src')).toEqual(["'self'", 'blob:']);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    for (const [name, sources] of directives) {
      for (const s of sources) expect(["'self'", "'none'", 'blob:', "'script'"], `${name} ${s}`).toContain(s);
    }
    // The API's own answers keep no such header.
    expect((await app().inject({ method: 'GET', url: '/info' })).headers['content-security-policy']).toBeUndefined();
  });

  it('has no inline script or style, and labels every field', async () => {
    const html = (await app().inject({ method: 'GET', url: '/' })).body;
    for (const m of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
      expect(m[0]).toMatch(/\bsrc="/);
      expect(m[1].trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/);
    expect(html).not.toMatch(/\sstyle="/);
    expect(html).not.toMatch(/\son[a-z]+="/);
    expect(html).toMatch(/<meta name="viewport" content="width=device-width, initial-scale=1">/);
    // Each visible input and textarea has a <label for>.
    const ids = [...html.matchAll(/<(?:input|textarea)\b(?![^>]*aria-hidden="true")[^>]*\bid="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(expect.arrayContaining(['token', 'prompt', 'num_frames', 'fps', 'num_inference_steps', 'guidance_scale', 'seed']));
    for (const id of ids) expect(html, id).toContain(`<label for="${id}">`);
  });

  it('answers 304 to a request that has the file already', async () => {
    const a = app();
    for (const url of ['/', '/playground/playground.js']) {
      const first = await a.inject({ method: 'GET', url });
      const again = await a.inject({ method: 'GET', url, headers: { 'if-none-match': String(first.headers.etag) } });
      expect(again.statusCode, url).toBe(304);
      expect(again.rawPayload.byteLength, url).toBe(0);
      expect(again.headers['content-security-policy'], url).toBe(PLAYGROUND_CSP);
    }
  });

  it('serves nothing else from its folder: a missing file, index.html twice, the type files and paths out of it are a JSON 404', async () => {
    const a = app();
    for (const url of ['/playground/nope.js', '/playground/index.html', '/playground/events.d.ts', '/playground/..%2Fsrc%2Fapp.ts', '/playground/%2e%2e/package.json', '/playground/']) {
      const res = await a.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().code, url).toBe('SPOOL_ERR_NOT_FOUND');
    }
  });

  it('is hidden from the OpenAPI document, and stays up while the coordinator drains', async () => {
    const drain = new Drain();
    const a = app({ drain });
    await a.ready();
    const routes = declaredRoutes(a).filter((r) => isPlaygroundRoute(r.url));
    expect(routes.map((r) => r.url).sort()).toEqual(['/', '/playground/:file']);
    for (const r of routes) expect(r.hidden, r.url).toBe(true);
    const doc = (await a.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p === '/' || p.startsWith('/playground'))).toEqual([]);
    drain.begin();
    for (const url of ['/', '/playground/playground.js']) {
      expect((await a.inject({ method: 'GET', url, headers: { authorization: 'Bearer wrong' } })).statusCode, url).toBe(200);
    }
  });
});

describe("the page's event-stream parser", () => {
  const stream = 'event: phase\ndata: {"a":1}\n\n: keep-alive\n\nevent: step\r\ndata: {"b":\r\ndata: 2}\r\n\r\ndata: plain\r\rid: 7\n\n';
  const want = [
    { event: 'phase', data: '{"a":1}' },
    { event: 'step', data: '{"b":\n2}' },
    { event: 'message', data: 'plain' },
  ];

  it('reads the events of a whole stream, whatever its line ends, leaving out comments', () => {
    expect(new EventStreamParser().feed(stream)).toEqual(want);
  });

  it('reads the same events from the stream cut at every place, a CRLF split included', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const parser = new EventStreamParser();
      expect([...parser.feed(stream.slice(0, cut)), ...parser.feed(stream.slice(cut))], `cut at ${cut}`).toEqual(want);
    }
  });

  it('keeps an event that has not ended yet', () => {
    const parser = new EventStreamParser();
    expect(parser.feed('event: completed\ndata: {}')).toEqual([]);
    expect(parser.feed('\n\n')).toEqual([{ event: 'completed', data: '{}' }]);
  });
});

describe("the page's frame count", () => {
  it('is the smallest temporal_compression × k + 1 at or above the count asked for', () => {
    expect([8, 9, 10, 13, 14, 49, 100].map((n) => framesMade(n, 4))).toEqual([9, 9, 13, 13, 17, 49, 101]);
  });
});
