/**
 * The routes the app declares, from fastify's onRoute hook, so the 404
 * answer can name them all without a second list to keep in step: a route
 * declared anywhere is listed. The docs page and the playground are listed,
 * their assets and raw copies of the document are not, nor the HEAD twins
 * fastify adds to GET routes.
 */
import type { FastifyInstance } from 'fastify';
import { DOCS_PATH, isDocsRoute } from './docs.ts';
import { isPlaygroundRoute, PLAYGROUND_ASSETS } from './playground.ts';

export interface DeclaredRoute {
  readonly method: string;
  readonly url: string;
  /** Left out of the OpenAPI document (`schema.hide`): the docs page's own routes. */
  readonly hidden: boolean;
}

const catalogs = new WeakMap<FastifyInstance, readonly DeclaredRoute[]>();

/** Starts recording; call before any route is declared. The list fills as routes are. */
export function routeCatalog(app: FastifyInstance): readonly DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const hidden = (route.schema as { hide?: boolean } | undefined)?.hide === true;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, hidden });
    }
  });
  catalogs.set(app, routes);
  return routes;
}

/** Every route an app made by build() has declared, whatever declared it; complete once the app is ready. */
export function declaredRoutes(app: FastifyInstance): readonly DeclaredRoute[] {
  const routes = catalogs.get(app);
  if (!routes) throw new Error('this app keeps no route catalog: make it with build()');
  return routes;
}

/**
 * "GET /health, GET /info and POST /generate": the API's routes first, then
 * the docs, then the playground. The routes of a versioned API (`/v1/videos`, `/v1/videos/:id`,
 * …) are named once, by their first path: "/v1/videos (6 routes)".
 */
export function describeRoutes(routes: readonly DeclaredRoute[]): string {
  const shown = routes.filter((r) => !r.url.startsWith(`${DOCS_PATH}/`) && !r.url.startsWith(PLAYGROUND_ASSETS));
  const isApi = (url: string): boolean => !isDocsRoute(url) && !isPlaygroundRoute(url);
  const ordered = [...shown.filter((r) => isApi(r.url)), ...shown.filter((r) => isDocsRoute(r.url)), ...shown.filter((r) => isPlaygroundRoute(r.url))];
  const groupOf = (url: string): string | undefined => /^\/v\d+\/[^/]+/.exec(url)?.[0];
  const sizes = new Map<string, number>();
  for (const r of ordered) {
    const group = groupOf(r.url);
    if (group !== undefined) sizes.set(group, (sizes.get(group) ?? 0) + 1);
  }
  const names: string[] = [];
  for (const r of ordered) {
    const group = groupOf(r.url);
    const n = group === undefined ? 1 : sizes.get(group)!;
    if (n === 1) names.push(`${r.method} ${r.url}`);
    else if (!names.includes(`${group} (${n} routes)`)) names.push(`${group} (${n} routes)`);
  }
  return names.length <= 1 ? (names[0] ?? 'none') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
