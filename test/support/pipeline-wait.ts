import type { Queue } from 'bullmq';

/** Timing of {@link waitUntil}; every wait has both a stall timeout and a hard deadline. */
export interface PollOptions {
  /** Between probes (ms). */
  intervalMs?: number;
  /** Fail when the probed state has not changed for this long (ms): nothing is moving any more. */
  stallTimeoutMs?: number;
  /** Fail when this much time has passed in all (ms). */
  timeoutMs?: number;
}

/** One probe: whether the wait is over, and the state to compare and to report on failure. */
export interface Probe<S> {
  done: boolean;
  state: S;
}

/**
 * Polls `probe` until it reports `done`. Fails with the last state when the
 * state stops changing for `stallTimeoutMs` (stalled) or when `timeoutMs`
 * passes (deadline); never a fixed sleep.
 */
export async function waitUntil<S>(what: string, probe: () => Promise<Probe<S>>, options: PollOptions = {}): Promise<S> {
  const { intervalMs = 25, stallTimeoutMs = 10_000, timeoutMs = 30_000 } = options;
  const started = Date.now();
  let lastJson = '';
  let changedAt = started;
  for (;;) {
    const { done, state } = await probe();
    if (done) return state;
    const json = JSON.stringify(state);
    const now = Date.now();
    if (json !== lastJson) {
      lastJson = json;
      changedAt = now;
    }
    if (now - changedAt > stallTimeoutMs) throw new Error(`stalled for ${stallTimeoutMs} ms waiting for ${what}; last state: ${json}`);
    if (now - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last state: ${json}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Job counts of a queue that matter for draining. */
export type QueueCounts = Record<'waiting' | 'prioritized' | 'active' | 'delayed' | 'failed' | 'completed', number>;

/** The queue's job counts by state. */
export async function queueCounts(queue: Queue): Promise<QueueCounts> {
  return (await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed')) as QueueCounts;
}

/**
 * Waits until a queue has no waiting, active or delayed job (everything
 * processed or failed for good). Fails at once when a job fails for good:
 * the counts would never be exact then.
 */
export async function waitForQueueIdle(queue: Queue, options: PollOptions = {}): Promise<QueueCounts> {
  return waitUntil(
    `queue ${queue.name} to be idle`,
    async () => {
      const counts = await queueCounts(queue);
      if (counts.failed > 0) {
        const failed = await queue.getFailed(0, 0);
        throw new Error(`a ${queue.name} job failed for good: ${failed[0]?.failedReason}; counts ${JSON.stringify(counts)}`);
      }
      return { done: counts.waiting + counts.prioritized + counts.active + counts.delayed === 0, state: counts };
    },
    options,
  );
}
