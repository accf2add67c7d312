/**
 * The playground: the page at GET / where people try spool in a browser
 * (write a prompt, watch the job's progress, play and download the video,
 * see their jobs). It is static: `coordinator/public/index.html` at `/`, and
 * the scripts, stylesheet and icon next to it at `/playground/<file>`, read
 * once when the app is built, no build step. The page talks to the API with
 * the token its user pastes; serving it takes none.
 *
 * Every file goes out with headers that keep the page to itself: a
 * Content-Security-Policy allowing this origin only (and blob: for the video
 * it makes), no inline script, Trusted Types on (the page builds its DOM
 * from nodes, never from HTML strings), no framing, no referrer. The routes
 * are hidden from the OpenAPI document, as the docs page's are; an asset
 * that is not there is the JSON 404 of any unknown path.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const PLAYGROUND_PATH = '/';
/** Where the page's own files are served from: `/playground/playground.js`, … */
export const PLAYGROUND_ASSETS = '/playground/';

/** The folder of the page's files. */
export const PUBLIC_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

/** What each kind of file is served as; files of other kinds in the folder are not served. */
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * This origin only; media also from blob: (the video is fetched with the
 * token and played from a blob URL); no inline script or style, no plugins,
 * no forms sent anywhere (the page sends its requests with fetch), not framed.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

export const PLAYGROUND_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': PLAYGROUND_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()',
  // Asked again each time (cheap: the ETag answers 304), so a new version of the page is seen at once.
  'Cache-Control': 'no-cache',
};

/** Whether a route (its `routeOptions.url`) serves the playground: the page or one of its files. */
export function isPlaygroundRoute(url: string | undefined): boolean {
  return url === PLAYGROUND_PATH || (url?.startsWith(PLAYGROUND_ASSETS) ?? false);
}

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

function readStatic(file: string): StaticFile {
  const body = readFileSync(file);
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, type: TYPES[path.extname(file)], etag };
}

/** The files of `dir` the playground serves, by name: index.html and the assets of a kind in TYPES. */
export function playgroundFiles(dir: string = PUBLIC_DIR): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir).sort()) {
    if (TYPES[path.extname(name)] !== undefined) files.set(name, readStatic(path.join(dir, name)));
  }
  if (!files.has('index.html')) throw new Error(`the playground's index.html is missing from ${dir}`);
  return files;
}

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  reply.headers(PLAYGROUND_HEADERS).header('ETag', file.etag);
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.code(200).type(file.type).header('Content-Length', String(file.body.byteLength)).send(file.body);
}

export function registerPlayground(app: FastifyInstance, opts: { dir?: string } = {}): void {
  const files = playgroundFiles(opts.dir);
  const index = files.get('index.html')!;
  const hide = { hide: true };
  app.get(PLAYGROUND_PATH, { schema: hide }, async (request, reply) => send(request, reply, index));
  app.get<{ Params: { file: string } }>(`${PLAYGROUND_ASSETS}:file`, { schema: hide }, async (request, reply) => {
    const file = request.params.file === 'index.html' ? undefined : files.get(request.params.file);
    if (!file) return reply.callNotFound();
    return send(request, reply, file);
  });
}
