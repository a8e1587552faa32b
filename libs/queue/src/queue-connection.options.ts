import { AppConfig } from '@shortener/config';
import { bullmqPrefix, queueRedisOptions } from '@shortener/redis';
import { Queue, QueueOptions } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { QueueName } from './queues.contract';

/**
 * ioredis options of BullMQ connections from `REDIS_QUEUE_URL`
 * (`redis[s]://[user[:password]@]host[:port][/db]`) with the queue-role
 * settings of `queueRedisOptions` (no per-request retry limit, as BullMQ's
 * blocking commands require). BullMQ opens its own connections from these.
 */
export function queueConnectionOptions(config: AppConfig): RedisOptions {
  const url = new URL(config.redis.queueUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    ...queueRedisOptions(config),
    // WHATWG keeps IPv6 literals in brackets; ioredis wants the bare address.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: Number.isInteger(db) ? db : 0,
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** BullMQ options shared by every queue and worker: the connection and `QUEUE_PREFIX`. */
export function queueOptions(config: AppConfig): Pick<QueueOptions, 'connection' | 'prefix'> {
  return { connection: queueConnectionOptions(config), prefix: bullmqPrefix(config.redis) };
}

/**
 * A producer-side queue, owned (and closed) by the caller. Errors are
 * swallowed here and surface through failed `add` calls instead: an
 * unhandled 'error' event would crash the process.
 */
export function createQueue(config: AppConfig, name: QueueName): Queue {
  const queue = new Queue(name, queueOptions(config));
  queue.on('error', () => undefined);
  return queue;
}
