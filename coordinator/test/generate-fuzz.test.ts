/**
 * Property-based: whatever arrives at POST /generate, the answer is the fake
 * pipeline's MP4 (200, video/mp4) or a 4xx whose JSON body has exactly the
 * string fields error, code and message; never a 5xx, never a rejection,
 * never a hang. Admission and rate limits may refuse a request: any 4xx of
 * that shape holds. fast-check prints its seed and the shrunk case when a
 * property fails; `seed` in `fc.assert`'s options replays it.
 */
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authorization,
  contentLength,
  contentType,
  duplicateKeyText,
  method,
  mutatedEntries,
  notUtf8Payload,
  objectText,
  rawPayload,
  url,
  validEntries,
} from './generate-arbitraries.ts';
import { auth, FAKE_MP4, testApp } from './helpers.ts';

/** A request that has not answered in this long has hung (a liveness bound, not a speed check). */
const HANG_MS = 10_000;

let current: ReturnType<typeof testApp>;
beforeAll(() => {
  current = testApp();
});
afterAll(async () => {
  await current.app.close();
});

async function send(opts: InjectOptions): Promise<LightMyRequestResponse> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    return await Promise.race([current.app.inject(opts), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** The property every answer keeps. */
function expectWellFormed(res: LightMyRequestResponse, method = 'POST'): void {
  const summary = `${res.statusCode} ${String(res.headers['content-type'])} ${res.body.slice(0, 300)}`;
  if (res.statusCode === 200) {
    expect(res.headers['content-type'], summary).toBe('video/mp4');
    expect(new Uint8Array(res.rawPayload), summary).toEqual(FAKE_MP4);
    return;
  }
  expect(res.statusCode >= 400 && res.statusCode < 500, summary).toBe(true);
  expect(String(res.headers['content-type']), summary).toMatch(/^application\/json\b/);
  // HEAD answers carry no body.
  if (method.toUpperCase() === 'HEAD') return;
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort(), summary).toEqual(['code', 'error', 'message']);
  expect(typeof body.error, summary).toBe('string');
  expect(typeof body.message, summary).toBe('string');
  expect(body.code, summary).toMatch(/^SPOOL_ERR_[A-Z_]+$/);
}

const json = (payload: string | Buffer, headers: Record<string, string | string[] | undefined> = {}): InjectOptions => ({
  method: 'POST',
  url: '/generate',
  headers: { ...auth, 'content-type': 'application/json', ...headers },
  payload,
});

describe('POST /generate under hostile input (property-based)', () => {
  it('a valid body with a valid token makes the video (or meets a limit)', async () => {
    let made = 0;
    await fc.assert(
      fc.asyncProperty(validEntries, async (entries) => {
        const res = await send(json(objectText(entries)));
        expectWellFormed(res);
        expect([200, 429]).toContain(res.statusCode);
        if (res.statusCode === 200) made++;
      }),
      { numRuns: 500 },
    );
    expect(made).toBeGreaterThan(0);
  });

  it('arbitrary JSON values as the body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        expectWellFormed(await send(json(JSON.stringify(value) ?? 'null')));
      }),
      { numRuns: 1_500 },
    );
  });

  it('near-valid bodies: fields of wrong types, out of range, huge, NaN-like, unicode; unknown and prototype keys', async () => {
    await fc.assert(
      fc.asyncProperty(mutatedEntries, async (entries) => {
        expectWellFormed(await send(json(objectText(entries))));
      }),
      { numRuns: 3_000 },
    );
  });

  it('duplicate keys in the JSON text', async () => {
    await fc.assert(
      fc.asyncProperty(duplicateKeyText, async (text) => {
        expectWellFormed(await send(json(text)));
      }),
      { numRuns: 500 },
    );
  });

  it('raw payloads: truncated, mutated, BOM, deep nesting, over the limit, empty, not UTF-8', async () => {
    await fc.assert(
      fc.asyncProperty(rawPayload, async (payload) => {
        expectWellFormed(await send(json(payload)));
      }),
      { numRuns: 2_500 },
    );
  });

  it('bytes that are not UTF-8 are refused, never passed on as U+FFFD', async () => {
    await fc.assert(
      fc.asyncProperty(notUtf8Payload, async (payload) => {
        const res = await send(json(payload));
        expectWellFormed(res);
        expect(res.statusCode).toBe(400);
      }),
      { numRuns: 500 },
    );
  });

  it('Authorization, Content-Type and Content-Length variants', async () => {
    const request = fc
      .tuple(fc.oneof(validEntries.map(objectText), mutatedEntries.map(objectText), rawPayload), authorization, contentType)
      .chain(([payload, a, ct]) => contentLength(Buffer.byteLength(payload)).map((cl) => ({ payload, a, ct, cl })));
    await fc.assert(
      fc.asyncProperty(request, async ({ payload, a, ct, cl }) => {
        const headers: Record<string, string | string[]> = {};
        if (a !== undefined) headers.authorization = a;
        if (ct !== undefined) headers['content-type'] = ct;
        if (cl !== undefined) headers['content-length'] = cl;
        expectWellFormed(await send({ method: 'POST', url: '/generate', headers, payload }));
      }),
      { numRuns: 2_000 },
    );
  });

  it('other methods and paths at and around the route', async () => {
    const request = fc.tuple(method, url, fc.option(validEntries.map(objectText)), authorization);
    await fc.assert(
      fc.asyncProperty(request, async ([m, u, payload, a]) => {
        const headers: Record<string, string | string[]> = {};
        if (a !== undefined) headers.authorization = a;
        if (payload !== null) headers['content-type'] = 'application/json';
        const res = await send({ method: m as InjectOptions['method'], url: u, headers, ...(payload !== null ? { payload } : {}) });
        expectWellFormed(res, m);
      }),
      { numRuns: 1_000 },
    );
  });
});
