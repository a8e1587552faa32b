import FindMyWay from 'find-my-way';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';

type Method = FindMyWay.HTTPMethod;

/** Router options that change which paths a route matches: those of Fastify's own router. */
export interface RouteMatchOptions {
  ignoreTrailingSlash?: boolean;
  ignoreDuplicateSlashes?: boolean;
  maxParamLength?: number;
}

const noop = () => undefined;
const routersOf = new WeakMap<FastifyInstance, { router: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>; methods: Set<Method> }>();

/**
 * Records every route's methods and URL as they are added, for
 * {@link allowedMethods}. Fastify answers a path served only under other
 * methods with 404; RFC 9110 section 15.5.6 wants 405 with an `Allow` header.
 * The record is a second router of Fastify's own library (find-my-way, with
 * the same matching options), consulted only for requests that matched no
 * route. Call before any route is registered.
 */
export function recordRouteMethods(fastify: FastifyInstance, options: RouteMatchOptions): void {
  const router = FindMyWay({ ...options });
  const methods = new Set<Method>();
  routersOf.set(fastify, { router, methods });
  fastify.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat() as Method[]) {
      // A route may come through this hook twice (Fastify's HEAD twin of a GET route, prefixes); find-my-way refuses duplicates.
      if (router.findRoute(method, route.url) !== null) continue;
      router.on(method, route.url, noop);
      methods.add(method);
    }
  });
}

/**
 * The methods the routes recorded by {@link recordRouteMethods} serve at a
 * request's path, sorted (the `Allow` header's value); empty when no route
 * matches the path under any method, or nothing was recorded.
 */
export function allowedMethods(request: FastifyRequest): string[] {
  const recorded = routersOf.get(request.server);
  if (!recorded) return [];
  const path = request.url.split('?', 1)[0];
  return [...recorded.methods].filter((m) => m !== request.method && recorded.router.find(m, path) !== null).sort();
}
