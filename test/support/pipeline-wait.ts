import type { Queue } from 'bullmq';
import { waitUntil, WaitOptions } from './wait';

/** Timing of {@link waitForQueueIdle}: a hard deadline of 30 s and a stall timeout of 10 s unless given. */
export type QueueWaitOptions = Partial<Pick<WaitOptions, 'timeoutMs' | 'intervalMs' | 'stallTimeoutMs'>>;

/** Job counts of a queue that matter for draining. */
export type QueueCounts = Record<'waiting' | 'prioritized' | 'active' | 'delayed' | 'failed' | 'completed', number>;

/** The queue's job counts by state. */
export async function queueCounts(queue: Queue): Promise<QueueCounts> {
  return (await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed')) as QueueCounts;
}

/**
 * Waits until a queue has no waiting, active or delayed job (everything
 * processed or failed for good). Fails at once when a job fails for good:
 * the counts would never be exact then. Fails, too, when the counts stop
 * changing for the stall timeout.
 */
export async function waitForQueueIdle(queue: Queue, options: QueueWaitOptions = {}): Promise<QueueCounts> {
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
    { timeoutMs: options.timeoutMs ?? 30_000, stallTimeoutMs: options.stallTimeoutMs ?? 10_000, intervalMs: options.intervalMs },
  );
}
