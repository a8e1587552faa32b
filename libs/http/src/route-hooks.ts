import type { RouteOptions } from 'fastify';

/** The route-level hooks {@link appendRouteHook} adds to. */
type RouteHookName = 'onRequest' | 'preParsing' | 'preValidation' | 'preHandler' | 'onSend';

/**
 * Adds `hook` after the route's own hooks of that stage. Meant for Fastify's
 * `onRoute` hook, which sees each route as it is registered, so a hook can
 * be given to some routes only and the others (the redirect) pay nothing.
 */
export function appendRouteHook<K extends RouteHookName>(
  route: RouteOptions,
  name: K,
  hook: NonNullable<RouteOptions[K]> extends (infer H)[] | infer H ? H : never,
): void {
  const current = route[name] as unknown;
  const hooks: unknown[] = current === undefined ? [] : Array.isArray(current) ? (current as unknown[]) : [current];
  (route as Record<RouteHookName, unknown>)[name] = [...hooks, hook];
}

/** Whether a route's URL is `prefix` itself or a path below it (`/api` covers `/api/v1/links`, not `/apis`). */
export function isUnderPath(url: string | undefined, prefix: string): boolean {
  return url === prefix || (url ?? '').startsWith(`${prefix}/`);
}
