import { AppConfig } from '@shortener/config';
import Redis, { RedisOptions } from 'ioredis';

/** Injection token of the cache Redis client (cache, rate limits, bus publishing). */
export const CACHE_REDIS = Symbol('CACHE_REDIS');
/** Injection token of the queue Redis client (BullMQ; `maxmemory-policy noeviction` on the server). */
export const QUEUE_REDIS = Symbol('QUEUE_REDIS');

/**
 * Options of cache-role clients (docs/design.md section 7): no offline queue and a
 * command timeout, so a Redis outage fails a lookup at once and the redirect
 * falls through to PostgreSQL instead of hanging; no auto-pipelining.
 */
export function cacheRedisOptions(config: AppConfig): RedisOptions {
  return {
    enableOfflineQueue: false,
    commandTimeout: config.redis.commandTimeoutMs,
    connectTimeout: Math.max(1_000, config.redis.commandTimeoutMs * 4),
    maxRetriesPerRequest: 1,
    // Reconnect forever with a capped backoff; callers never wait on it.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    connectionName: `shortener-${config.role}-cache`,
    // One write per command. The redirect's misses already go out as one
    // command per batch (MGET, one fill script); an auto-pipeline kept its
    // commands alive across a scavenge, so they were promoted to old space
    // and brought major GCs (docs/benchmarks.md, "Garbage collection: the growing factor").
    enableAutoPipelining: false,
  };
}

/** Options of queue-role clients as BullMQ requires them (blocking commands, no per-request retry limit). */
export function queueRedisOptions(config: AppConfig): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    connectionName: `shortener-${config.role}-queue`,
  };
}

/** Creates the cache-role client from `REDIS_CACHE_URL`. */
export function createCacheRedis(config: AppConfig): Redis {
  return new Redis(config.redis.cacheUrl, cacheRedisOptions(config));
}

/** Creates a queue-role client from `REDIS_QUEUE_URL`. */
export function createQueueRedis(config: AppConfig): Redis {
  return new Redis(config.redis.queueUrl, queueRedisOptions(config));
}
