/**
 * The routes the app declares, from fastify's onRoute hook, so the 404
 * answer can name them all without a second list to keep in step: a route
 * declared anywhere is listed. The docs page is listed, its assets and raw
 * copies of the document are not, nor the HEAD twins fastify adds to GET
 * routes.
 */
import type { FastifyInstance } from 'fastify';
import { DOCS_PATH, isDocsRoute } from './docs.ts';

export interface DeclaredRoute {
  readonly method: string;
  readonly url: string;
}

/** Starts recording; call before any route is declared. The list fills as routes are. */
export function routeCatalog(app: FastifyInstance): readonly DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url });
    }
  });
  return routes;
}

/** "GET /health, GET /info and POST /generate": the API's routes first, then the docs. */
export function describeRoutes(routes: readonly DeclaredRoute[]): string {
  const shown = routes.filter((r) => !r.url.startsWith(`${DOCS_PATH}/`));
  const ordered = [...shown.filter((r) => !isDocsRoute(r.url)), ...shown.filter((r) => isDocsRoute(r.url))];
  const names = ordered.map((r) => `${r.method} ${r.url}`);
  return names.length <= 1 ? (names[0] ?? 'none') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
