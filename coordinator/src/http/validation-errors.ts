/**
 * Turns what the schema validator and the body parser report into one
 * sentence a client can act on: which field, what it accepts, what it got.
 */
import { SpoolError } from '@spool/shared';
import { coordinatorError } from '../errors.ts';

/** The parts of an ajv error this formatter reads. */
export interface SchemaIssue {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** One message for every problem in the body, field by field. */
export function formatBodyIssues(issues: readonly SchemaIssue[], body: unknown, rules: Record<string, string>): string {
  const allowed = Object.keys(rules).join(', ');
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    return `the request body must be a JSON object with at least a "prompt" field (got ${body === undefined ? 'no body' : describeValue(body)})`;
  }
  const values = body as Record<string, unknown>;
  const unknown: string[] = [];
  const missing: string[] = [];
  const fields = new Map<string, string>();
  for (const issue of issues) {
    if (issue.keyword === 'additionalProperties') {
      unknown.push(String(issue.params.additionalProperty));
    } else if (issue.keyword === 'required') {
      missing.push(String(issue.params.missingProperty));
    } else {
      const field = issue.instancePath.replace(/^\//, '').split('/')[0];
      if (!field || fields.has(field)) continue;
      fields.set(field, fieldMessage(field, values[field], rules[field]));
    }
  }
  const parts: string[] = [];
  for (const f of missing) parts.push(`${f} is required: ${rules[f] ?? 'a value'}`);
  parts.push(...fields.values());
  if (unknown.length > 0) {
    const names = [...new Set(unknown)].map((n) => `"${n}"`).join(', ');
    parts.push(`${unknown.length === 1 ? 'unknown field' : 'unknown fields'} ${names} (allowed: ${allowed})`);
  }
  return parts.length > 0 ? parts.join('; ') : 'the request body does not match the schema';
}

/** One message for every problem in the query string, parameter by parameter, quoting what the schema allows. */
export function formatQueryIssues(issues: readonly SchemaIssue[], query: unknown): string {
  const values = (query ?? {}) as Record<string, unknown>;
  const parts = new Map<string, string>();
  for (const issue of issues) {
    const name = issue.instancePath.replace(/^\//, '').split('/')[0];
    if (!name || parts.has(name)) continue;
    const p = issue.params;
    const allowed =
      issue.keyword === 'minimum' || issue.keyword === 'maximum'
        ? `${issue.keyword === 'minimum' ? 'at least' : 'at most'} ${String(p.limit)}`
        : issue.keyword === 'type'
          ? `${p.type === 'integer' ? 'a whole number' : `of type ${String(p.type)}`}`
          : Array.isArray(p.allowedValues)
            ? `one of ${p.allowedValues.join(', ')}`
            : 'valid';
    parts.set(name, `query parameter ${name} must be ${allowed} (got ${describeValue(values[name])})`);
  }
  return parts.size > 0 ? [...parts.values()].join('; ') : 'the query string does not match the schema';
}

function fieldMessage(field: string, value: unknown, rule: string | undefined): string {
  if (typeof value === 'string' && value.trim() === '' && rule?.startsWith('a non-empty string')) {
    return `${field} must not be empty or only whitespace`;
  }
  return `${field} must be ${rule ?? 'valid'} (got ${describeValue(value)})`;
}

/** Body-parser failures (fastify's FST_ERR_CTP_* codes) as validation errors. */
export function parserError(code: string | undefined, contentType: string | undefined, bodyLimit: number): SpoolError | undefined {
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return coordinatorError('SPOOL_ERR_VALIDATION', `Content-Type must be application/json (got ${contentType ? JSON.stringify(contentType) : 'none'})`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return coordinatorError('SPOOL_ERR_VALIDATION', 'the request body is empty; send a JSON object such as {"prompt": "a red fox in the snow"}');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return coordinatorError('SPOOL_ERR_VALIDATION', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return coordinatorError('SPOOL_ERR_VALIDATION', `the request body is larger than ${bodyLimit} bytes`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return coordinatorError('SPOOL_ERR_VALIDATION', 'the request body does not match its Content-Length');
    default:
      return undefined;
  }
}
