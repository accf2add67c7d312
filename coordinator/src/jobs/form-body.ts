/**
 * POST /v1/videos as OpenAI's SDKs and `curl -F` send it: a form
 * (`multipart/form-data`, or `application/x-www-form-urlencoded` as `curl -d
 * 'prompt=…'` sends it), its text fields turned into the JSON body the route
 * validates. A field the schema takes as a number is read as one when it is
 * written as one ("30" → 30), any other text stays text (and the schema says
 * what is wrong with it). A file part is refused: this model makes videos from
 * text alone (OpenAI's `input_reference`). Pure: bytes in, fields out, or a
 * 400 naming the problem.
 */
import { isUtf8 } from 'node:buffer';
import { coordinatorError } from '../errors.ts';

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/** The fields of a form body, by name; `numeric` names the fields to read as numbers when they are written as one. */
export function parseFormBody(contentType: string, body: Buffer, numeric: ReadonlySet<string>): Record<string, unknown> {
  const type = contentType.split(';')[0].trim().toLowerCase();
  const pairs = type === 'multipart/form-data' ? multipartFields(contentType, body) : urlencodedFields(body);
  const out: Record<string, unknown> = {};
  for (const [name, value] of pairs) {
    if (Object.prototype.hasOwnProperty.call(out, name)) throw invalid(`the form gives the field ${JSON.stringify(name)} more than once; give each field once`);
    out[name] = numeric.has(name) && NUMBER.test(value.trim()) ? Number(value.trim()) : value;
  }
  return out;
}

function urlencodedFields(body: Buffer): Array<[string, string]> {
  if (!isUtf8(body)) throw invalid('the form body is not valid UTF-8');
  return [...new URLSearchParams(body.toString('utf8'))];
}

function multipartFields(contentType: string, body: Buffer): Array<[string, string]> {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (!m) throw invalid('a multipart/form-data body needs a boundary in its Content-Type');
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const fields: Array<[string, string]> = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw invalid('the multipart body does not contain its boundary');
  for (;;) {
    at += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body.subarray(at, at + 2).toString('latin1') === '--') return fields;
    if (body.subarray(at, at + 2).toString('latin1') !== '\r\n') throw invalid('the multipart body is malformed: a boundary is not followed by a line break');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), at);
    if (next < 0) throw invalid('the multipart body is cut short: its closing boundary is missing');
    const part = body.subarray(at + 2, next);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) throw invalid('the multipart body is malformed: a part has no blank line after its headers');
    fields.push(field(part.subarray(0, split).toString('latin1'), part.subarray(split + 4)));
    at = next + 2;
  }
}

function field(headers: string, value: Buffer): [string, string] {
  const disposition = headers.split('\r\n').find((h) => /^content-disposition:/i.test(h)) ?? '';
  const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
  if (!name) throw invalid('a part of the multipart body has no name (Content-Disposition: form-data; name="…")');
  if (/;\s*filename\*?=/i.test(disposition)) {
    throw invalid(
      name === 'input_reference'
        ? 'input_reference (an image to start from) is not supported: this model makes videos from the prompt alone'
        : `the form field ${JSON.stringify(name)} is a file; every field is text`,
    );
  }
  if (!isUtf8(value)) throw invalid(`the form field ${JSON.stringify(name)} is not valid UTF-8`);
  return [name, value.toString('utf8')];
}

const invalid = (message: string): Error => coordinatorError('SPOOL_ERR_VALIDATION', message);
