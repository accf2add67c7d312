/**
 * Bearer-token auth for the routes that take one (POST /generate, GET
 * /requests). Tokens are compared as SHA-256 digests with timingSafeEqual,
 * against every configured token, so neither the length nor the content of a
 * guess shows in the time taken. The caller of an authorized request is the
 * configured token it matched (`callerOf`), so each token sees only its own
 * requests. The OpenAPI document marks a route as needing a token when its
 * onRequest hooks include one `bearerAuth` made (`needsBearer`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { coordinatorError } from '../errors.ts';

export const WWW_AUTHENTICATE = 'Bearer realm="spool"';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** The index of the configured token a candidate matches, or -1. */
export function tokenMatcher(tokens: readonly string[]): (candidate: string) => number {
  const known = tokens.map(digest);
  return (candidate) => {
    const d = digest(candidate);
    let found = -1;
    known.forEach((k, i) => {
      if (timingSafeEqual(d, k)) found = i;
    });
    return found;
  };
}

const callers = new WeakMap<FastifyRequest, string>();

/** Who sent an authorized request: `token-<n>`, the configured token it matched (never the token itself). */
export function callerOf(request: FastifyRequest): string | undefined {
  return callers.get(request);
}

/** The index of the configured token a header carries, or the reason the request is not authorized. */
export function checkAuthorization(header: string | undefined, match: (token: string) => number): number | string {
  if (!header) return 'this endpoint needs an "Authorization: Bearer <token>" header';
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m || m[1].toLowerCase() !== 'bearer') return 'the Authorization header must use the Bearer scheme: "Authorization: Bearer <token>"';
  const index = match(m[2]);
  return index >= 0 ? index : 'the bearer token is not valid';
}

/** The hooks `bearerAuth` made: a route with one of them needs a token, and the OpenAPI document says so. */
const bearerHooks = new WeakSet<object>();

/** An onRequest hook: runs before the body is read, so a bad token costs nothing more. */
export function bearerAuth(tokens: readonly string[]) {
  const match = tokenMatcher(tokens);
  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const result = checkAuthorization(request.headers.authorization, match);
    if (typeof result === 'string') {
      reply.header('WWW-Authenticate', WWW_AUTHENTICATE);
      throw coordinatorError('SPOOL_ERR_UNAUTHORIZED', result);
    }
    callers.set(request, `token-${result}`);
  };
  bearerHooks.add(hook);
  return hook;
}

/** Whether a route's onRequest hooks (one, a list, or none) include a `bearerAuth` hook. */
export function needsBearer(onRequest: unknown): boolean {
  const hooks: unknown[] = Array.isArray(onRequest) ? onRequest : [onRequest];
  return hooks.some((h) => typeof h === 'function' && bearerHooks.has(h));
}
