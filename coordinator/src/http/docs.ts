/**
 * The API's description of itself: an OpenAPI 3.1 document generated from
 * the routes' schemas (@fastify/swagger), as JSON at GET /openapi.json, and a
 * browsable page at GET /docs (@fastify/swagger-ui) whose scripts, styles
 * and images come from the npm package and are served here: the page loads
 * nothing from any other host, and its Content-Security-Policy says so to
 * the browser. Neither needs a token.
 *
 * A route is in the document when it is declared after `registerDocs` (in
 * build()'s routes plugin) with a schema: summary, description, tags, body,
 * and every response it can give, errors by `errorResponses(codes)`. The
 * document adds what follows from the route itself: the Bearer security
 * requirement and the 401 when its onRequest hooks include `bearerAuth`, the
 * 500 any route can give, and X-Spool-Trace-Id on every response.
 */
import { readFileSync } from 'node:fs';
import fastifySwagger, { type SwaggerTransform } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { ModelManifest } from '@spool/shared';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { ALL_ERRORS } from '../errors.ts';
import { needsBearer } from './auth.ts';
import { errorResponse, withHeaders, type ErrorCode, type HeaderDoc } from './error-responses.ts';
import { isOpenAiRoute } from './openai-errors.ts';

export const OPENAPI_PATH = '/openapi.json';
export const DOCS_PATH = '/docs';

/** The name of the security scheme routes guarded by `bearerAuth` require. */
export const BEARER_SCHEME = 'bearer';

/**
 * Whether a route (its `routeOptions.url`) serves the docs: the document, the
 * page, or the page's assets. They take no token and are not part of the
 * API's own traffic.
 */
export function isDocsRoute(url: string | undefined): boolean {
  return url === OPENAPI_PATH || url === DOCS_PATH || (url?.startsWith(`${DOCS_PATH}/`) ?? false);
}

const TRACE_ID: HeaderDoc = { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'The trace of this request, when tracing is on: find it in Jaeger.' };

/** Errors any request can get before a route is chosen, so no operation lists them. */
const BEFORE_ANY_ROUTE: readonly ErrorCode[] = ['SPOOL_ERR_VALIDATION', 'SPOOL_ERR_NOT_FOUND', 'SPOOL_ERR_CLIENT_TIMEOUT', 'SPOOL_ERR_HEADERS_TOO_LARGE'];

const TAGS = [
  { name: 'generation', description: 'Making videos, and the requests running and waiting now' },
  { name: 'videos', description: "Video jobs in the shape of OpenAI's videos API: made in the background, followed, downloaded, kept in the job store" },
  { name: 'status', description: 'Health, the model, its limits, the live workers and the queue' },
  { name: 'docs', description: 'This document' },
];

/**
 * The page's Content-Security-Policy: everything from this origin, images
 * and fonts also inline (the logo and the stylesheets' icons are data:
 * URLs), inline styles (the UI sets some; they can load nothing from
 * elsewhere either), no validator badge, nothing from another host.
 */
const DOCS_CSP =
  "default-src 'self'; base-uri 'self'; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'self'; " +
  "img-src 'self' data:; object-src 'none'; script-src 'self'; script-src-attr 'none'; style-src 'self' 'unsafe-inline'";

export interface DocsOptions {
  readonly manifest: ModelManifest;
}

export function registerDocs(app: FastifyInstance, opts: DocsOptions): void {
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `spool: ${opts.manifest.name}`, version: packageVersion(), description: apiDescription(opts.manifest) },
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', description: 'One of the API tokens (SPOOL_API_TOKENS; `npm start` prints one).' },
        },
      },
      tags: TAGS,
    },
    transform: documentRoute,
  });
  app.register(async (docs) => {
    let text: string | undefined;
    docs.get(
      OPENAPI_PATH,
      {
        schema: {
          summary: 'This document',
          description: `The OpenAPI 3.1 description of every route, generated from their schemas; ${DOCS_PATH} shows it as a page.`,
          tags: ['docs'],
          response: {
            200: {
              type: 'object',
              required: ['openapi', 'info', 'paths'],
              properties: { openapi: { type: 'string', examples: ['3.1.0'] } },
              additionalProperties: true,
              description: 'An OpenAPI 3.1 document',
            },
          },
        },
      },
      async (_request, reply) => {
        // The routes are all declared by now; the text is the same for the app's life.
        text ??= JSON.stringify(docs.swagger());
        return reply.type('application/json; charset=utf-8').send(text);
      },
    );
  });
  app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    theme: { title: `spool API: ${opts.manifest.name}` },
    uiConfig: { deepLinking: true, docExpansion: 'list', defaultModelsExpandDepth: 0, displayRequestDuration: true },
  });
}

/** What the document adds to a route's schema from the route itself. */
const documentRoute: SwaggerTransform = ({ schema, url, route }) => {
  const s: FastifySchema = schema ?? {};
  if (s.hide) return { schema: s, url };
  const response: Record<string, unknown> = { ...((s.response as Record<string, unknown> | undefined) ?? {}) };
  const secured = needsBearer(route.onRequest);
  // bearerAuth is what answers 401, so its answer is documented from it.
  const shape = isOpenAiRoute(url) ? 'openai' : 'spool';
  if (secured) response[401] = errorResponse(401, ['SPOOL_ERR_UNAUTHORIZED'], shape);
  response[500] ??= errorResponse(500, ['SPOOL_ERR_INTERNAL'], shape);
  for (const [status, r] of Object.entries(response)) response[status] = withHeaders(r, { 'X-Spool-Trace-Id': TRACE_ID });
  return { url, schema: { ...s, response, ...(secured ? { security: [{ [BEARER_SCHEME]: [] }] } : {}) } };
};

function apiDescription(m: ModelManifest): string {
  const early = BEFORE_ANY_ROUTE.map((code) => `- ${ALL_ERRORS[code].status} \`${code}\`: ${ALL_ERRORS[code].summary}`);
  return [
    `Text to video with **${m.name}**: \`POST /generate\` answers with the MP4; \`POST /v1/videos\` makes the same video in the background, as OpenAI's videos API does ` +
      "(follow it, then download it). The body's limits are this model's, from its manifest (`GET /info` reports them too).",
    '',
    'Routes with a lock take `Authorization: Bearer <token>`; the others take none.',
    '',
    'Every error is JSON `{error, code, message}` with a stable `SPOOL_ERR_*` code (coordinator/ERRORS.md lists them all); each operation lists the codes it can answer with. ' +
      'Any request can also get these, before a route is chosen:',
    '',
    ...early,
  ].join('\n');
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
