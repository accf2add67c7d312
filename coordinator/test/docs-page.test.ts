/**
 * GET /docs: the page and every script, stylesheet and icon it loads come
 * from this server (through inject(), so no request leaves the process), it
 * points at no other host, and its Content-Security-Policy lets the browser
 * load nothing from one. Docs routes take no token and stay up while the
 * coordinator drains.
 */
import { describe, expect, it } from 'vitest';
import { isDocsRoute } from '../src/http/docs.ts';
import { isPlaygroundRoute } from '../src/http/playground.ts';
import { declaredRoutes } from '../src/http/route-catalog.ts';
import { Drain } from '../src/lifecycle/drain.ts';
import { auth, appPerTest } from './helpers.ts';

const app = appPerTest();

/** The scripts, stylesheets and icons an HTML page loads, as URLs resolved against the page's. */
function assetsOf(html: string, page: string): URL[] {
  const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  return refs.map((ref) => new URL(ref, `http://127.0.0.1${page}`));
}

const TYPES: Record<string, RegExp> = { js: /^application\/javascript\b/, css: /^text\/css\b/, png: /^image\/png\b/ };

/** Every source a CSP allows; hosts and schemes other than data: would let the page reach out. */
function cspSources(header: string): string[] {
  return header
    .split(';')
    .map((d) => d.trim().split(/\s+/).slice(1))
    .flat()
    .filter((s) => s.length > 0);
}

describe('GET /docs', () => {
  for (const page of ['/docs', '/docs/']) {
    it(`${page} serves the page and every asset it loads, from this server, with no token`, async () => {
      const a = app();
      const res = await a.inject({ method: 'GET', url: page });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<div id="swagger-ui">');
      const assets = assetsOf(res.body, page);
      const kinds = assets.map((u) => u.pathname.split('.').pop());
      expect(kinds.filter((k) => k === 'js')).toHaveLength(3);
      expect(kinds.filter((k) => k === 'css')).toHaveLength(2);
      for (const url of assets) {
        // Same origin: a relative or root-relative reference, never another host.
        expect(url.origin, url.href).toBe('http://127.0.0.1');
        expect(url.pathname.startsWith('/docs/static/'), url.href).toBe(true);
        const asset = await a.inject({ method: 'GET', url: url.pathname });
        expect(asset.statusCode, url.pathname).toBe(200);
        expect(String(asset.headers['content-type']), url.pathname).toMatch(TYPES[url.pathname.split('.').pop() ?? '']);
        expect(asset.rawPayload.byteLength, url.pathname).toBeGreaterThan(0);
      }
    });
  }

  it('loads the document from this server and asks no validator elsewhere', async () => {
    const a = app();
    const init = await a.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain('validatorUrl: null');
    expect(init.body).toContain("resolveUrl('./json')");
    const json = await a.inject({ method: 'GET', url: '/docs/json' });
    expect(json.statusCode).toBe(200);
    expect(json.json()).toEqual((await a.inject({ method: 'GET', url: '/openapi.json' })).json());
    // Nothing the page is built from names another host (the initializer's only URL is a comment's).
    const page = (await a.inject({ method: 'GET', url: '/docs' })).body;
    expect(page).not.toMatch(/\b(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(init.body.replace(/^\s*\/\/.*$/gm, '')).not.toMatch(/https?:\/\//);
  });

  it('styles load nothing from elsewhere: every url() in the stylesheets is inline data', async () => {
    const a = app();
    for (const sheet of ['/docs/static/swagger-ui.css', '/docs/static/index.css']) {
      const css = (await a.inject({ method: 'GET', url: sheet })).body;
      for (const m of css.matchAll(/url\(\s*["']?([^"')]*)/g)) expect(m[1], sheet).toMatch(/^data:/);
      expect(css, sheet).not.toMatch(/@import/);
    }
  });

  it('sends a Content-Security-Policy that allows only this origin and inline data', async () => {
    const a = app();
    for (const url of ['/docs', '/docs/static/swagger-ui-bundle.js', '/docs/static/swagger-initializer.js', '/docs/json']) {
      const csp = String((await a.inject({ method: 'GET', url })).headers['content-security-policy']);
      expect(csp, url).toMatch(/\bdefault-src 'self'/);
      expect(csp, url).toMatch(/\bconnect-src 'self'/);
      for (const source of cspSources(csp)) expect(["'self'", "'none'", "'unsafe-inline'", 'data:'], `${url}: ${source}`).toContain(source);
    }
    // The API's own answers are not the page's, and keep no such header.
    expect((await a.inject({ method: 'GET', url: '/info' })).headers['content-security-policy']).toBeUndefined();
  });

  it('a missing asset is a JSON 404 like any unknown path', async () => {
    const res = await app().inject({ method: 'GET', url: '/docs/static/nope.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json().code).toBe('SPOOL_ERR_NOT_FOUND');
  });
});

describe('docs routes are not API traffic', () => {
  it('are told apart from the API routes by isDocsRoute', async () => {
    const a = app();
    await a.ready();
    const routes = declaredRoutes(a);
    const docs = routes.filter((r) => isDocsRoute(r.url)).map((r) => r.url);
    const api = routes.filter((r) => !isDocsRoute(r.url) && !isPlaygroundRoute(r.url)).map((r) => r.url);
    expect(docs).toEqual(expect.arrayContaining(['/openapi.json', '/docs', '/docs/json', '/docs/static/*']));
    expect([...new Set(api)].sort()).toEqual(['/generate', '/health', '/info', '/metrics', '/requests', '/v1/videos', '/v1/videos/:id', '/v1/videos/:id/content', '/v1/videos/:id/events']);
    // The page's own routes are left out of the document; the document's route is in it.
    for (const r of routes.filter((x) => x.url.startsWith('/docs'))) expect(r.hidden, r.url).toBe(true);
  });

  it('stay up while the coordinator drains, with or without a token', async () => {
    const drain = new Drain();
    const a = app({ drain });
    drain.begin();
    expect((await a.inject({ method: 'POST', url: '/generate', headers: auth, payload: { prompt: 'a fox' } })).statusCode).toBe(503);
    for (const url of ['/openapi.json', '/docs', '/docs/static/swagger-ui.css']) {
      expect((await a.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      expect((await a.inject({ method: 'GET', url, headers: { authorization: 'Bearer wrong' } })).statusCode, url).toBe(200);
    }
  });

  it('are named in the 404 answer, after the API routes', async () => {
    const res = await app().inject({ method: 'DELETE', url: '/docs' });
    expect(res.statusCode).toBe(404);
    expect(res.json().message).toBe(
      'no route for DELETE /docs; the routes are GET /health, GET /info, GET /requests, POST /generate, GET /metrics, /v1/videos (6 routes), GET /openapi.json, GET /docs and GET /',
    );
  });
});
