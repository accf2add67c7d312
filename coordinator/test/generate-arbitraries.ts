/**
 * fast-check arbitraries for hostile POST /generate requests: valid bodies,
 * near-valid bodies with fields mutated, raw payloads that are not (quite)
 * JSON, and header and method variants. Bodies are built as JSON text from
 * a list of entries, so duplicate and prototype keys survive serialization.
 */
import fc from 'fast-check';
import { manifest, TOKEN } from './helpers.ts';

const l = manifest.limits;
const BODY_LIMIT = 64 * 1024;

export const FIELDS = ['prompt', 'negative_prompt', 'num_frames', 'fps', 'guidance_scale', 'guidance_rescale', 'num_inference_steps', 'seed'] as const;
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

export type Entries = Array<[string, unknown]>;

/** JSON text of an object given as entries; keys may repeat. */
export function objectText(entries: Entries): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;
}

/** Any code point, lone surrogates included. */
const anyText = (maxLength: number) => fc.string({ unit: 'binary', maxLength });

const validPrompt = anyText(l.max_prompt_chars).filter((s) => s.length > 0 && /\S/u.test(s) && [...s].length <= l.max_prompt_chars);

/** Entries of a body the schema accepts. */
export const validEntries: fc.Arbitrary<Entries> = fc
  .record(
    {
      prompt: validPrompt,
      negative_prompt: anyText(l.max_prompt_chars).filter((s) => [...s].length <= l.max_prompt_chars),
      num_frames: fc.integer({ min: l.min_frames, max: l.max_frames }),
      fps: fc.integer({ min: l.min_fps, max: l.max_fps }),
      guidance_scale: fc.double({ min: 0, max: l.max_guidance_scale, noNaN: true }),
      guidance_rescale: fc.double({ min: 0, max: 1, noNaN: true }),
      // Mostly short runs, to keep the property fast; now and then the most allowed.
      num_inference_steps: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 6 }), weight: 19 }, { arbitrary: fc.integer({ min: 1, max: l.max_inference_steps }), weight: 1 }),
      seed: fc.integer({ min: 0, max: 0xffffffff }),
    },
    { requiredKeys: ['prompt'] },
  )
  .map((r) => Object.entries(r));

/** NaN, infinities and numbers as strings, as clients that stringify numbers send them. */
const numberLikeStrings = fc.constantFrom('NaN', 'nan', 'Infinity', '-Infinity', '1e999', '-0', '0x10', '49', ' 9 ', '9.0', '', ' ', '\u0000', 'null', 'true');

const nested = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...PROTO_KEYS)), tie('value'), { maxKeys: 3 }),
  ),
})).value;

/** A value for a field that is wrong in type, range, size or encoding, or just odd. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(-1, 0, -0, 0.5, 1e-300, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, Number.MIN_VALUE, null, true, false, [], {}),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  numberLikeStrings,
  anyText(300),
  fc.integer({ min: 150, max: 250 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1_000, max: 80_000 }).map((n) => 'é'.repeat(n)),
  fc.constantFrom('\u3000\u2028\t', '😀'.repeat(150), '😀'.repeat(201), 'e\u0301'.repeat(120), '\ud800', '\udfff\ud800', '\u202e'),
  nested,
);

/** A valid body with one or more fields (known, unknown or prototype keys) set to hostile values. */
export const mutatedEntries: fc.Arbitrary<Entries> = fc
  .tuple(
    validEntries,
    fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 12 })), hostileValue), {
      minLength: 1,
      maxLength: 4,
    }),
    fc.boolean(),
  )
  .map(([valid, changes, replace]) => {
    if (!replace) return [...valid, ...changes];
    const out = new Map<string, unknown>(valid);
    for (const [k, v] of changes) out.set(k, v);
    return [...out.entries()];
  });

/** Invalid bytes for UTF-8: stray continuation, overlong, surrogate, out of range, cut sequences. */
const badUtf8 = fc.constantFrom(
  [0x80],
  [0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5],
  [0xff],
  [0xfe, 0xff],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
);

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function splice(bytes: Uint8Array, at: number, remove: number, insert: ArrayLike<number>): Uint8Array {
  const i = Math.min(at, bytes.length);
  const j = Math.min(bytes.length, i + remove);
  const out = new Uint8Array(bytes.length - (j - i) + insert.length);
  out.set(bytes.subarray(0, i), 0);
  out.set(insert, i);
  out.set(bytes.subarray(j), i + insert.length);
  return out;
}

const deepText = fc.tuple(fc.constantFrom('[', '{"a":', '{"prompt":[', '[{"x":'), fc.integer({ min: 1, max: 40_000 }), fc.boolean()).map(([open, n, closed]) => {
  const close = open === '[' ? ']' : open === '{"prompt":[' ? ']}' : open === '[{"x":' ? '}]' : '}';
  return open.repeat(n) + (open.endsWith(':') ? '1' : '') + (closed ? close.repeat(n) : '');
});

/** A valid body with bytes that are not UTF-8 put somewhere in it. */
export const notUtf8Payload: fc.Arbitrary<Buffer> = fc.tuple(validEntries, fc.nat(), badUtf8).map(([e, at, bad]) => {
  const bytes = enc(objectText(e));
  return Buffer.from(splice(bytes, at % (bytes.length + 1), 0, bad));
});

/** Raw payloads: truncated, mutated or padded JSON, BOMs, deep nesting, over the body limit, empty, non-UTF-8. */
export const rawPayload: fc.Arbitrary<string | Buffer> = fc.oneof(
  validEntries.chain((e) => {
    const text = objectText(e);
    return fc.nat({ max: text.length }).map((n) => text.slice(0, n));
  }),
  fc.tuple(validEntries, fc.nat(), fc.nat({ max: 3 }), fc.uint8Array({ maxLength: 4 })).map(([e, at, remove, insert]) => {
    const bytes = enc(objectText(e));
    return Buffer.from(splice(bytes, at % (bytes.length + 1), remove, insert));
  }),
  notUtf8Payload,
  fc.tuple(validEntries, fc.constantFrom([0xef, 0xbb, 0xbf], [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf], [0xff, 0xfe], [0xfe, 0xff])).map(([e, bom]) =>
    Buffer.concat([Buffer.from(bom), Buffer.from(objectText(e))]),
  ),
  validEntries.map((e) => Buffer.from(objectText(e), 'utf16le')),
  deepText,
  fc.tuple(validEntries, fc.integer({ min: BODY_LIMIT - 64, max: BODY_LIMIT * 3 })).map(([e, n]) => objectText(e) + ' '.repeat(n)),
  fc.constantFrom('', ' ', '\n', '\uFEFF', 'null', 'true', '0', '""', '[]', '{}', '{"prompt"}', '{"prompt":"a",}', '{prompt:"a"}', "{'prompt':'a'}", '{"prompt":"a"}{"prompt":"b"}'),
  fc.json(),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
);

/** Duplicate keys in JSON text: the same field twice, valid then hostile or the other way. */
export const duplicateKeyText: fc.Arbitrary<string> = fc
  .tuple(validEntries, fc.constantFrom(...FIELDS), hostileValue, fc.boolean())
  .map(([e, field, value, hostileFirst]) => {
    const valid = e.find(([k]) => k === field)?.[1] ?? (field === 'prompt' ? 'a fox' : undefined);
    const pair: Entries = [
      [field, value],
      [field, valid ?? value],
    ];
    return objectText([...e.filter(([k]) => k !== field), ...(hostileFirst ? pair : pair.reverse())]);
  });

/** Authorization header values: right and wrong schemes, odd spacing, long, non-ASCII, absent. */
export const authorization: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer  ${TOKEN}`, `Bearer ${TOKEN} `, `Bearer\t${TOKEN}`),
  fc.constantFrom(`Basic ${TOKEN}`, `Token ${TOKEN}`, TOKEN, 'Bearer', 'Bearer ', '', ' ', ` Bearer ${TOKEN}`, `Bearer ${TOKEN} extra`, `Bearer ${TOKEN}x`),
  fc.constantFrom(`Bearer\u00a0${TOKEN}`, `Bearer ${TOKEN}\u00e9`, 'Bearer \u00ff\u00fe', 'Bearer ü', `Bearer ${TOKEN.toUpperCase()}`),
  fc.integer({ min: 1_000, max: 100_000 }).map((n) => `Bearer ${'t'.repeat(n)}`),
  fc.constant<string[]>([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]),
  fc.string({ unit: 'binary-ascii', maxLength: 80 }),
  fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`),
);

/** Content-Type values: JSON with odd casing and parameters, other types, duplicates, absent. */
export const contentType: fc.Arbitrary<string | string[] | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/json',
    'Application/JSON',
    'APPLICATION/JSON',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json; charset="utf-8"',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/json;;;',
    'application/json; boundary=x; q=0.5',
    ' application/json ',
    'application/json\t;x=y',
  ),
  fc.constantFrom(
    'text/plain',
    'text/plain; charset=utf-8',
    'text/json',
    'text/html',
    'multipart/form-data; boundary=----x',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    'application/jsonx',
    'application/json-patch+json',
    'application/vnd.api+json',
    'application/*',
    '*/*',
    ';application/json',
    'application/json, text/plain',
    'application/jsön',
    '',
  ),
  fc.constant<string[]>(['application/json', 'text/plain']),
  fc.constant<string[]>(['text/plain', 'application/json']),
  fc.string({ unit: 'binary-ascii', maxLength: 60 }),
);

/** Content-Length values to put beside a payload of `n` bytes: right, off by some, absurd. */
export const contentLength = (n: number): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(String(n)),
    fc.integer({ min: -3, max: 3 }).map((d) => String(Math.max(0, n + d))),
    fc.constantFrom('0', '-1', '99999999999999999999', String(BODY_LIMIT + 1), 'abc', '1e3', ` ${n}`, `${n}, ${n}`),
  );

/** Methods Node's parser knows, in upper and lower case. */
export const method = fc.constantFrom(
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'SEARCH',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'QUERY',
  'post',
  'get',
);

/** Paths at and around the route. */
export const url = fc.oneof(
  fc.constantFrom('/generate', '/generate/', '/Generate', '//generate', '/generate?x=1', '/generate?%zz', '/generate#frag', '/gen%65rate', '/generate%2F', '/generate/%zz', '/generate;x', '/generate%00', '/%'),
  fc.integer({ min: 1_000, max: 20_000 }).map((n) => `/generate?q=${'a'.repeat(n)}`),
  fc.string({ unit: 'binary-ascii', maxLength: 20 }).map((s) => `/generate${s.replace(/[#?]/g, '')}`),
);
