/**
 * The OpenAPI document, checked against the app it describes: structurally
 * valid OpenAPI 3.1 (swagger-parser), every route the app declares in it with
 * its methods and error responses, every error code it names in the
 * registry under its own status, the Bearer requirement exactly where a
 * token is asked for, and the body's limits from the manifest.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { formatParamUrl } from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_ERRORS } from '../src/errors.ts';
import { errorResponses, type ErrorCode } from '../src/http/error-responses.ts';
import { declaredRoutes } from '../src/http/route-catalog.ts';
import { auth, manifest, testApp } from './helpers.ts';

interface Schema {
  type?: string;
  enum?: string[];
  properties?: Record<string, Schema>;
  required?: string[];
  [keyword: string]: unknown;
}
interface Response {
  description: string;
  headers?: Record<string, { schema: Schema; description?: string }>;
  content?: Record<string, { schema: Schema }>;
}
interface Operation {
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, Response>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

let current: FastifyInstance | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function documentOf(app: FastifyInstance): Promise<Document> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  return res.json() as Document;
}

async function appDocument(): Promise<{ app: FastifyInstance; doc: Document }> {
  current = testApp().app;
  return { app: current, doc: await documentOf(current) };
}

/** Every operation of the document, as `METHOD /path`. */
function operations(doc: Document): Array<{ key: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })));
}

/** The routes the app declares (hidden docs internals aside) that the document lacks. */
function undocumented(app: FastifyInstance, doc: Document): string[] {
  return declaredRoutes(app)
    .filter((r) => !r.hidden)
    .filter((r) => doc.paths[formatParamUrl(r.url)]?.[r.method.toLowerCase()] === undefined)
    .map((r) => `${r.method} ${r.url}`);
}

/** The codes an error response documents, from its body's `code` enum. */
function codesOf(response: Response): string[] {
  return response.content?.['application/json']?.schema.properties?.code?.enum ?? [];
}

describe('GET /openapi.json', () => {
  it('is a structurally valid OpenAPI 3.1 document, served without a token', async () => {
    const { doc } = await appDocument();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe(`spool: ${manifest.name}`);
    // Throws, naming the part, when anything breaks the OpenAPI 3.1 schema; a copy, as it resolves in place.
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
    // What the schema alone lets through: requirements naming no scheme, path templates without their parameters.
    for (const { key, op } of operations(doc)) {
      for (const requirement of op.security ?? []) for (const name of Object.keys(requirement)) expect(doc.components.securitySchemes[name], `${key}: ${name}`).toBeDefined();
      const inPath = [...key.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort();
      expect(declared, key).toEqual(inPath);
    }
  });

  it('documents every route the app declares, with its methods, and nothing else', async () => {
    const { app, doc } = await appDocument();
    const declared = declaredRoutes(app).filter((r) => !r.hidden);
    expect(declared.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /v1/videos/:id',
      'GET /health',
      'GET /info',
      'GET /metrics',
      'GET /openapi.json',
      'GET /requests',
      'GET /v1/videos',
      'GET /v1/videos/:id',
      'GET /v1/videos/:id/content',
      'GET /v1/videos/:id/events',
      'POST /generate',
      'POST /v1/videos',
    ]);
    for (const r of declared) expect(app.hasRoute({ method: r.method as 'GET', url: r.url }), `${r.method} ${r.url}`).toBe(true);
    expect(undocumented(app, doc)).toEqual([]);
    const keys = new Set(declared.map((r) => `${r.method} ${formatParamUrl(r.url)}`));
    for (const { key } of operations(doc)) expect(keys.has(key), `${key} is documented but not declared`).toBe(true);
  });

  it('finds a route declared outside the routes plugin, which the document misses', async () => {
    current = testApp().app;
    // Declared on the app itself, before the document's hook exists.
    current.get('/late', { schema: { summary: 'Late' } }, async () => 'late');
    const doc = await documentOf(current);
    expect(undocumented(current, doc)).toEqual(['GET /late']);
  });

  it('gives every operation a summary, tags, a success answer and the errors it can give, each with its codes', async () => {
    const { doc } = await appDocument();
    for (const { key, op } of operations(doc)) {
      expect(op.summary, key).toBeTruthy();
      expect(op.description, key).toBeTruthy();
      expect(op.tags?.length, key).toBeGreaterThan(0);
      const statuses = Object.keys(op.responses).map(Number);
      expect(statuses.some((s) => s >= 200 && s < 300), key).toBe(true);
      // Any route can fail unexpectedly.
      expect(codesOf(op.responses['500']), key).toEqual(['SPOOL_ERR_INTERNAL']);
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${key} ${status}`).toBeTruthy();
        if (Number(status) < 400 || key === 'GET /health') continue;
        expect(Object.keys(response.content ?? {}), `${key} ${status}`).toEqual(['application/json']);
        expect(response.content?.['application/json'].schema.required, `${key} ${status}`).toEqual(['error', 'code', 'message']);
        expect(codesOf(response).length, `${key} ${status} names no code`).toBeGreaterThan(0);
      }
    }
  });

  it('names only codes of the registry, each under the status the registry gives it', async () => {
    const { doc } = await appDocument();
    let named = 0;
    for (const { key, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const code of codesOf(response)) {
          named++;
          expect(ALL_ERRORS[code], `${key} ${status}: ${code} is not in the registry`).toBeDefined();
          expect(ALL_ERRORS[code].status, `${key} ${status}: ${code}`).toBe(Number(status));
          expect(response.description, `${key} ${status}: ${code} is not explained`).toContain(code);
        }
      }
    }
    expect(named).toBeGreaterThan(20);
  });

  it('documents POST /generate: every error status it can give, the MP4, and the headers', async () => {
    const { doc } = await appDocument();
    const op = doc.paths['/generate'].post;
    expect(Object.keys(op.responses)).toEqual(['200', '400', '401', '429', '499', '500', '502', '503', '504']);
    expect(codesOf(op.responses['429']).sort()).toEqual(['SPOOL_ERR_QUEUE_FULL', 'SPOOL_ERR_RATE_LIMITED', 'SPOOL_ERR_TOKEN_LIMIT']);
    expect(codesOf(op.responses['503'])).toContain('SPOOL_ERR_SHUTTING_DOWN');
    expect(codesOf(op.responses['503'])).toContain('SPOOL_ERR_STAGE_UNAVAILABLE');
    expect(codesOf(op.responses['504']).sort()).toEqual(['SPOOL_ERR_DEADLINE', 'SPOOL_ERR_STAGE_TIMEOUT']);

    const video = op.responses['200'];
    expect(Object.keys(video.content ?? {})).toEqual(['video/mp4']);
    expect(video.content?.['video/mp4'].schema).toMatchObject({ type: 'string', format: 'binary' });
    expect(Object.keys(video.headers ?? {})).toEqual(
      expect.arrayContaining(['X-Spool-Request-Id', 'X-Spool-Seed', 'X-Spool-Frames', 'X-Spool-Steps', 'X-Spool-Retries', 'X-Spool-Prompt-Truncated', 'X-Spool-Trace-Id']),
    );
    expect(op.responses['429'].headers?.['Retry-After'].schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 3600 });
    expect(op.responses['503'].headers?.['Retry-After'].schema.type).toBe('integer');
    expect(op.responses['401'].headers?.['WWW-Authenticate'].schema.enum).toEqual(['Bearer realm="spool"']);
    expect(doc.paths['/health'].get.responses['503'].headers?.['Retry-After'].schema.type).toBe('integer');
  });

  it("documents the jobs API: the video object, OpenAI's fields in the body, the list, the MP4, the event stream and each route's errors", async () => {
    const { doc } = await appDocument();
    const create = doc.paths['/v1/videos'].post;
    expect(Object.keys(create.responses)).toEqual(['200', '400', '401', '429', '500', '503', '507']);
    expect(codesOf(create.responses['429']).sort()).toEqual(['SPOOL_ERR_QUEUE_FULL', 'SPOOL_ERR_RATE_LIMITED', 'SPOOL_ERR_TOKEN_LIMIT']);
    expect(codesOf(create.responses['503'])).toEqual(expect.arrayContaining(['SPOOL_ERR_SHUTTING_DOWN', 'SPOOL_ERR_STAGE_UNAVAILABLE', 'SPOOL_ERR_STORAGE_UNAVAILABLE']));
    expect(create.responses['503'].headers?.['Retry-After'].schema.type).toBe('integer');
    expect(Object.keys(create.requestBody?.content ?? {})).toEqual(['application/json', 'multipart/form-data', 'application/x-www-form-urlencoded']);
    const body = create.requestBody?.content['application/json'].schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(expect.arrayContaining(['prompt', 'num_frames', 'fps', 'seed', 'model', 'seconds', 'size']));
    expect(String(body?.properties?.size.description)).toContain(`${manifest.video.output_width}x${manifest.video.output_height}`);
    expect(String(body?.properties?.model.description)).toContain(manifest.name);

    const video = create.responses['200'].content?.['application/json'].schema;
    expect(video?.required).toEqual(expect.arrayContaining(['id', 'object', 'model', 'status', 'progress', 'created_at', 'completed_at', 'expires_at', 'seconds', 'size', 'error']));
    expect(video?.properties?.status.anyOf).toBeDefined();

    const list = doc.paths['/v1/videos'].get;
    expect((list.parameters ?? []).map((p) => `${p.in} ${p.name}`).sort()).toEqual(['query after', 'query limit', 'query order']);
    expect(list.responses['200'].content?.['application/json'].schema.required).toEqual(['object', 'data', 'first_id', 'last_id', 'has_more']);

    const content = doc.paths['/v1/videos/{id}/content'].get;
    expect(Object.keys(content.responses['200'].content ?? {})).toEqual(['video/mp4']);
    expect(codesOf(content.responses['404']).sort()).toEqual(['SPOOL_ERR_JOB_NOT_FOUND', 'SPOOL_ERR_VIDEO_NOT_READY']);
    const events = doc.paths['/v1/videos/{id}/events'].get;
    expect(Object.keys(events.responses['200'].content ?? {})).toEqual(['text/event-stream']);
    expect(codesOf(events.responses['404'])).toEqual(['SPOOL_ERR_JOB_NOT_FOUND']);
    const del = doc.paths['/v1/videos/{id}'].delete;
    expect(del.responses['200'].content?.['application/json'].schema.required).toEqual(['id', 'object', 'deleted', 'cancelled']);
    expect(codesOf(doc.paths['/v1/videos/{id}'].get.responses['404'])).toEqual(['SPOOL_ERR_JOB_NOT_FOUND']);
    // OpenAI's error object in `error` on these routes, the 401 and 500 the document adds included.
    for (const status of ['400', '401', '429', '500', '503']) {
      const error = create.responses[status].content?.['application/json'].schema.properties?.error;
      expect(error?.required, status).toEqual(['message', 'type', 'code', 'param']);
    }
    expect(doc.paths['/generate'].post.responses['400'].content?.['application/json'].schema.properties?.error.type).toBe('string');
  });

  it("takes the body's limits and defaults from the manifest, with a description for every field", async () => {
    const other = { ...manifest, limits: { ...manifest.limits, max_frames: 61, max_prompt_chars: 77, max_inference_steps: 12 }, defaults: { ...manifest.defaults, num_frames: 13 } };
    current = testApp({ manifest: other }).app;
    const doc = await documentOf(current);
    const body = doc.paths['/generate'].post.requestBody;
    expect(body?.required).toBe(true);
    const schema = body?.content['application/json'].schema;
    expect(schema?.required).toEqual(['prompt']);
    expect(schema?.additionalProperties).toBe(false);
    const p = schema?.properties ?? {};
    expect(p.num_frames).toMatchObject({ type: 'integer', minimum: 8, maximum: 61, default: 13 });
    expect(p.prompt).toMatchObject({ type: 'string', minLength: 1, maxLength: 77 });
    expect(p.num_inference_steps).toMatchObject({ maximum: 12 });
    expect(p.fps).toMatchObject({ minimum: other.limits.min_fps, maximum: other.limits.max_fps, default: other.defaults.fps });
    for (const [name, field] of Object.entries(p)) expect(field.description, name).toBeTruthy();
  });

  it('asks for a Bearer token exactly on the routes that answer 401 without one', async () => {
    const { app, doc } = await appDocument();
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const secured: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const res = await app.inject({ method: method.toUpperCase() as 'GET', url: path });
        if (op.security) {
          secured.push(`${method.toUpperCase()} ${path}`);
          expect(op.security, path).toEqual([{ bearer: [] }]);
          expect(res.statusCode, path).toBe(401);
          expect(codesOf(op.responses['401'])).toContain(res.json().code);
          expect(res.headers['www-authenticate']).toBe('Bearer realm="spool"');
        } else {
          expect(res.statusCode, path).not.toBe(401);
          expect(op.responses['401'], path).toBeUndefined();
        }
      }
    }
    expect(secured.sort()).toEqual([
      'DELETE /v1/videos/{id}',
      'GET /requests',
      'GET /v1/videos',
      'GET /v1/videos/{id}',
      'GET /v1/videos/{id}/content',
      'GET /v1/videos/{id}/events',
      'POST /generate',
      'POST /v1/videos',
    ]);
  });

  it('answers what it documents: a bad body with a 400 code it lists', async () => {
    const { app, doc } = await appDocument();
    const res = await app.inject({ method: 'POST', url: '/generate', headers: auth, payload: { prompt: 'a fox', num_frames: 5000 } });
    expect(res.statusCode).toBe(400);
    expect(codesOf(doc.paths['/generate'].post.responses['400'])).toContain(res.json().code);
  });

  it('refuses, when a route is declared, an error code that is not in the registry', () => {
    expect(() => errorResponses(['SPOOL_ERR_QUEUE_FULL', 'SPOOL_ERR_NO_SUCH_THING' as ErrorCode])).toThrow(/SPOOL_ERR_NO_SUCH_THING is not in the error registry/);
  });
});
