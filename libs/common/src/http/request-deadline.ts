import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendRouteHook, isUnderPath } from './route-hooks';

/**
 * The deadline of one request: its handler, its pool waits and its
 * statements share one budget. `signal` aborts when the budget is spent
 * (its reason a {@link DeadlineExceededError}); from then on `expired` is true.
 */
export interface RequestDeadline {
  /** The whole budget in milliseconds (`HTTP_REQUEST_DEADLINE_MS`). */
  readonly budgetMs: number;
  /** `performance.now()` at which the budget is spent. */
  readonly expiresAt: number;
  readonly signal: AbortSignal;
  readonly expired: boolean;
}

/**
 * A request refused because its deadline passed before its work was done:
 * 503 `deadline-exceeded` with `Retry-After` (see {@link toProblem}). Not a
 * `DomainError`: it is no answer to the request's content, so an
 * `Idempotency-Key` never stores it. Nothing it started was
 * committed, except a write whose commit was already on its way (see
 * {@link installRequestDeadline}); a client retries creates with the same
 * `Idempotency-Key`.
 */
export class DeadlineExceededError extends Error {
  constructor(readonly budgetMs: number) {
    super(`The request did not finish within its deadline of ${budgetMs} ms (HTTP_REQUEST_DEADLINE_MS)`);
    this.name = 'DeadlineExceededError';
  }
}

class Deadline implements RequestDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  readonly expiresAt: number;

  constructor(readonly budgetMs: number) {
    this.expiresAt = performance.now() + budgetMs;
    this.timer = setTimeout(() => {
      this.controller.abort(new DeadlineExceededError(budgetMs));
    }, budgetMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get expired(): boolean {
    return this.controller.signal.aborted;
  }

  /** The request is answered: nothing is left to cancel. */
  finish(): void {
    clearTimeout(this.timer);
  }
}

const deadlines = new AsyncLocalStorage<Deadline>();
const DEADLINE = Symbol('requestDeadline');

/** The deadline of the request whose handler is running here, if any. */
export function currentDeadline(): RequestDeadline | undefined {
  return deadlines.getStore();
}

/** The deadline of a request, if its route has one. */
export function deadlineOf(request: FastifyRequest): RequestDeadline | undefined {
  return (request as unknown as Record<symbol, Deadline | undefined>)[DEADLINE];
}

/**
 * Runs `fn` (and everything it starts) under a fresh deadline of `budgetMs`
 * milliseconds; the deadline's timer stops when the returned promise settles.
 */
export async function withDeadline<T>(budgetMs: number, fn: (deadline: RequestDeadline) => Promise<T>): Promise<T> {
  const deadline = new Deadline(budgetMs);
  try {
    return await deadlines.run(deadline, () => fn(deadline));
  } finally {
    deadline.finish();
  }
}

/**
 * Runs `fn` under `deadline` (one {@link currentDeadline} gave), or with no
 * deadline when it is undefined: for shared work that acts for one request
 * again (a batch's item retried alone).
 */
export function withinDeadline<T>(deadline: RequestDeadline | undefined, fn: () => T): T {
  return deadline instanceof Deadline ? deadlines.run(deadline, fn) : deadlines.exit(fn);
}

/**
 * Runs `fn` outside any request's deadline: for work shared by several
 * requests (a batch), which no single request's deadline may cancel.
 */
export function outsideRequestDeadline<T>(fn: () => T): T {
  return deadlines.exit(fn);
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
    const deadline = new Deadline(budgetMs);
    (request as unknown as Record<symbol, Deadline>)[DEADLINE] = deadline;
    reply.raw.once('close', () => {
      deadline.finish();
    });
    deadlines.run(deadline, done);
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (isUnderPath(route.url, prefix)) appendRouteHook(route, 'preHandler', start);
  });
}
