/** Request deadlines on Fastify routes; the framework-free deadline itself lives in `@shortener/common`. */
import { OpenDeadline, RequestDeadline, openDeadline, withinDeadline } from '@shortener/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { appendRouteHook, isUnderPath } from './route-hooks';

const DEADLINE = Symbol('requestDeadline');

/** The deadline of a request, if its route has one. */
export function deadlineOf(request: FastifyRequest): RequestDeadline | undefined {
  return (request as unknown as Record<symbol, OpenDeadline | undefined>)[DEADLINE];
}

/**
 * Gives every route under `prefix` an end-to-end deadline of `budgetMs`,
 * counted from the moment its handler starts (the body has been read: its
 * own time is bounded by `HTTP_BODY_TIMEOUT_MS`). The handler runs in an
 * async context that holds the {@link RequestDeadline}; the database layer
 * makes pool waits and statements share it (an abandoned pool wait, a
 * cancelled statement, a transaction that cannot commit). A request whose
 * work failed after its deadline passed answers 503 `deadline-exceeded`
 * with `Retry-After` (see {@link sendProblem}'s use of {@link deadlineOf}).
 *
 * The deadline does not cut the answer short by itself: work that cannot be
 * cancelled (a commit already sent) is answered with its real outcome, so a
 * 503 means nothing was written. Routes outside `prefix` (the redirect) pay
 * nothing: they have their own bounds.
 */
export function installRequestDeadline(fastify: FastifyInstance, budgetMs: number, prefix = '/api'): void {
  const start = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const deadline = openDeadline(budgetMs);
    (request as unknown as Record<symbol, OpenDeadline>)[DEADLINE] = deadline;
    reply.raw.once('close', () => {
      deadline.finish();
    });
    withinDeadline(deadline, done);
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (isUnderPath(route.url, prefix)) appendRouteHook(route, 'preHandler', start);
  });
}
