/** Thrown by {@link withTimeout} when the work did not settle in time. */
export class TimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what} timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Races `work` against a timer so a health check never hangs on a dead
 * dependency (a kubelet probe has its own deadline, 2 s in the chart).
 * The work itself is not cancelled; its late result is ignored.
 *
 * @param timeoutMs milliseconds before giving up.
 * @throws TimeoutError when the timer wins; the work's own error otherwise.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new TimeoutError(what, timeoutMs));
    }, timeoutMs);
    timer.unref();
  });
  // A late rejection of the losing work must not surface as unhandled.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => {
    clearTimeout(timer);
  });
}
