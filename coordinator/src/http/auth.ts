/**
 * Bearer-token auth for POST /generate. Tokens are compared as SHA-256
 * digests with timingSafeEqual, against every configured token, so neither
 * the length nor the content of a guess shows in the time taken.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { coordinatorError } from '../errors.ts';

export const WWW_AUTHENTICATE = 'Bearer realm="spool"';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function tokenMatcher(tokens: readonly string[]): (candidate: string) => boolean {
  const known = tokens.map(digest);
  return (candidate) => {
    const d = digest(candidate);
    let ok = false;
    for (const k of known) ok = timingSafeEqual(d, k) || ok;
    return ok;
  };
}

/** The reason a request is not authorized, or undefined when it is. */
export function checkAuthorization(header: string | undefined, matches: (token: string) => boolean): string | undefined {
  if (!header) return 'this endpoint needs an "Authorization: Bearer <token>" header';
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m || m[1].toLowerCase() !== 'bearer') return 'the Authorization header must use the Bearer scheme: "Authorization: Bearer <token>"';
  if (!matches(m[2])) return 'the bearer token is not valid';
  return undefined;
}

/** An onRequest hook: runs before the body is read, so a bad token costs nothing more. */
export function bearerAuth(tokens: readonly string[]) {
  const matches = tokenMatcher(tokens);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const problem = checkAuthorization(request.headers.authorization, matches);
    if (problem) {
      reply.header('WWW-Authenticate', WWW_AUTHENTICATE);
      throw coordinatorError('SPOOL_ERR_UNAUTHORIZED', problem);
    }
  };
}
