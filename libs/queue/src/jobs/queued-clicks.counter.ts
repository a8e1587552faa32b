import type { Queue } from 'bullmq';
import { REDIS_KEYS } from '@shortener/redis';
import type Redis from 'ioredis';

// BullMQ types its connection as its own minimal interface; it is an ioredis client.
const redisOf = async (queue: Queue) => (await queue.client) as unknown as Redis;

/**
 * The click queue's depth in clicks, as a counter next to the queue's own
 * keys in the queue Redis (`<QUEUE_PREFIX>:clicks:queued-clicks`, REDIS_KEYS
 * `.queuedClicks`, in the slot of the queue's own keys): the API
 * adds a batch's clicks once BullMQ has taken the job, the worker subtracts
 * them once the batch is committed or refused for good. A queue's job count
 * says little about its clicks (a job holds 1 to `CLICK_BATCH_SIZE` of
 * them), and the queue Redis fills with clicks, not jobs.
 *
 * The two updates are separate commands, so a process killed between the
 * job and its update leaves the counter off by one batch; the worker puts it
 * back to 0 whenever the queue is empty ({@link reconcileQueuedClicks}), and
 * readers take a negative value as 0.
 */
export function queuedClicksKey(queue: Queue): string {
  return REDIS_KEYS.queuedClicks.key({ queuePrefix: queue.opts.prefix ?? 'bull' }, queue.name);
}

/** Adds `clicks` to the counter (after a batch was published). @throws the Redis error. */
export async function addQueuedClicks(queue: Queue, clicks: number): Promise<void> {
  await (await redisOf(queue)).incrby(queuedClicksKey(queue), clicks);
}

/** Subtracts `clicks` from the counter (after a batch left the queue). @throws the Redis error. */
export async function removeQueuedClicks(queue: Queue, clicks: number): Promise<void> {
  await (await redisOf(queue)).decrby(queuedClicksKey(queue), clicks);
}

/** The counter's value, 0 when absent or negative. @throws the Redis error. */
export async function readQueuedClicks(queue: Queue): Promise<number> {
  const raw = await (await redisOf(queue)).get(queuedClicksKey(queue));
  const n = raw === null ? 0 : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

// Resets the counter only while no job is waiting, prioritized, delayed or
// active: read and written in one script, so no job arrives in between.
const RECONCILE_SCRIPT = `
if redis.call('LLEN', KEYS[1]) == 0 and redis.call('LLEN', KEYS[2]) == 0
  and redis.call('ZCARD', KEYS[3]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
  redis.call('SET', KEYS[5], 0)
  return 1
end
return 0`;

/**
 * Sets the counter to 0 if the queue holds no job that is not finished
 * (waiting, prioritized, delayed or active). @returns whether it did.
 * @throws the Redis error.
 */
export async function reconcileQueuedClicks(queue: Queue): Promise<boolean> {
  const keys = queue.keys;
  const client = await redisOf(queue);
  const done = await client.eval(RECONCILE_SCRIPT, 5, keys.wait, keys.active, keys.delayed, keys.prioritized, queuedClicksKey(queue));
  return done === 1;
}

/**
 * When the oldest job still waiting in the queue was added (epoch ms), or
 * null when none waits: the job at the consuming end of the wait list, and
 * its `timestamp`. Two small reads, whatever the job's size. (Its clicks are
 * older by at most `CLICK_FLUSH_INTERVAL_MS` and the time they were buffered.)
 * @throws the Redis error.
 */
export async function oldestQueuedAt(queue: Queue): Promise<number | null> {
  const client = await redisOf(queue);
  // BullMQ adds at the left of the wait list and takes from the right.
  const id = (await client.lrange(queue.keys.wait, -1, -1)).at(0);
  if (id === undefined) return null;
  const timestamp = await client.hget(queue.toKey(id), 'timestamp');
  const at = timestamp === null ? NaN : Number(timestamp);
  return Number.isFinite(at) ? at : null;
}

/** Seconds since `oldestAt` (epoch ms), the value of `shortener_click_oldest_waiting_seconds`; 0 when nothing waits (null or Infinity). */
export function waitingAgeSeconds(oldestAt: number | null): number {
  return oldestAt !== null && Number.isFinite(oldestAt) ? Math.max(0, (Date.now() - oldestAt) / 1000) : 0;
}
