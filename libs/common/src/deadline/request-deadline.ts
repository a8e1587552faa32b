import { AsyncLocalStorage } from 'node:async_hooks';

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
 * 503 `deadline-exceeded` with `Retry-After` (see `toProblem` in `@shortener/http`). Not a
 * `DomainError`: it is no answer to the request's content, so an
 * `Idempotency-Key` never stores it. Nothing it started was
 * committed, except a write whose commit was already on its way (see
 * `installRequestDeadline` in `@shortener/http`); a client retries creates with the same
 * `Idempotency-Key`.
 */
export class DeadlineExceededError extends Error {
  constructor(readonly budgetMs: number) {
    super(`The request did not finish within its deadline of ${budgetMs} ms (HTTP_REQUEST_DEADLINE_MS)`);
    this.name = 'DeadlineExceededError';
  }
}

/** A deadline its owner ends: {@link OpenDeadline.finish} stops its timer once the request is answered. */
export interface OpenDeadline extends RequestDeadline {
  /** The request is answered: nothing is left to cancel. */
  finish(): void;
}

class Deadline implements OpenDeadline {
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

/** The deadline of the request whose handler is running here, if any. */
export function currentDeadline(): RequestDeadline | undefined {
  return deadlines.getStore();
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
 * Starts a deadline of `budgetMs` milliseconds for one request, for a
 * transport adapter to run the request's work under (with {@link withinDeadline})
 * and to {@link OpenDeadline.finish} once the request is answered.
 */
export function openDeadline(budgetMs: number): OpenDeadline {
  return new Deadline(budgetMs);
}
