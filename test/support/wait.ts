import { inspect } from 'node:util';

/** Timing of {@link waitUntil}. Every wait names its hard deadline; nothing waits by a fixed sleep. */
export interface WaitOptions {
  /** Hard deadline (ms), counted from the first probe: the wait fails once this much time has passed. */
  timeoutMs: number;
  /** Pause between two probes (ms); 25 unless given. */
  intervalMs?: number;
  /**
   * Fail early (ms) when the state the probe reports has not changed for this
   * long: nothing is moving any more. Only for probes that report a state
   * (compared as JSON); without it only the deadline applies.
   */
  stallTimeoutMs?: number;
  /** More to print when the wait fails (e.g. the tail of a child's output). */
  describe?: () => string;
}

/**
 * What a probe reports: whether the wait is over, and the state to return
 * then (or, while it is not, the state to compare and to report; optional).
 */
export type Probe<S> = { done: true; state: S } | { done: false; state?: unknown };

type Awaitable<T> = T | Promise<T>;

/** The state as it goes into a comparison or an error message (JSON, or util.inspect when it has cycles). */
function render(state: unknown): string {
  try {
    return JSON.stringify(state) ?? String(state);
  } catch {
    return inspect(state, { depth: 2, breakLength: Infinity });
  }
}

/**
 * Polls `probe` every `intervalMs` until it reports done, the one polling
 * helper of the tests.
 *
 * A probe returns either a boolean (done or not), and the wait resolves with
 * nothing, or a {@link Probe} `{ done, state }`, and the wait resolves with
 * the state of the probe that was done (e.g. the response or the totals the
 * test then asserts on). A probe that throws ends the wait with its error
 * (e.g. when the child it waits for has exited).
 *
 * @throws `timed out after <timeoutMs> ms waiting for <what>` once the
 *   deadline passes, or `stalled for <stallTimeoutMs> ms waiting for <what>`
 *   when the reported state stopped changing; either names the last state
 *   (its first 2,000 characters) and what `describe` returns.
 */
export function waitUntil(what: string, probe: () => Awaitable<boolean>, options: WaitOptions): Promise<void>;
export function waitUntil<S>(what: string, probe: () => Awaitable<Probe<S>>, options: WaitOptions): Promise<S>;
export async function waitUntil<S>(what: string, probe: () => Awaitable<boolean | Probe<S>>, options: WaitOptions): Promise<S | undefined> {
  const { timeoutMs, intervalMs = 25, stallTimeoutMs, describe } = options;
  const started = Date.now();
  let last: { state: unknown } | undefined;
  let compared: string | undefined;
  let changedAt = started;
  for (;;) {
    const result = await probe();
    const now = Date.now();
    if (typeof result === 'boolean') {
      if (result) return undefined;
    } else {
      if (result.done) return result.state;
      last = { state: result.state };
      const rendered = stallTimeoutMs === undefined ? undefined : render(result.state);
      if (rendered !== compared) {
        compared = rendered;
        changedAt = now;
      }
    }
    const failure =
      stallTimeoutMs !== undefined && last !== undefined && now - changedAt > stallTimeoutMs
        ? `stalled for ${stallTimeoutMs} ms`
        : now - started > timeoutMs
          ? `timed out after ${timeoutMs} ms`
          : undefined;
    if (failure) {
      const details = [last === undefined ? '' : `; last state: ${render(last.state).slice(0, 2_000)}`, describe ? `; ${describe()}` : ''].join('');
      throw new Error(`${failure} waiting for ${what}${details}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
