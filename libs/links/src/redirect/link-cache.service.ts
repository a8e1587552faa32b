import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { MetricsService } from '@shortener/observability';
import { CACHE_REDIS, InvalidationBus, InvalidationMessage } from '@shortener/redis';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { PgPools } from '@shortener/database';
import { RedirectSnapshot, snapshotFromRow, SNAPSHOT_BATCH_SQL } from './redirect-snapshot';

/** Where a lookup was answered. */
export type CacheLayer = 'lru' | 'redis' | 'db';

/** A lookup result; `snapshot` null means no such link (negative, cached too). */
export interface CacheLookup {
  snapshot: RedirectSnapshot | null;
  layer: CacheLayer;
}

const NEGATIVE = '0';
const SNAPSHOT_STATEMENT = 'shortener_redirect_snapshots';
/** At most this many misses go to Redis and PostgreSQL as one batch. */
export const MISS_BATCH_MAX = 256;
// An invalidation leaves a marker for this long; a fill that read PostgreSQL
// before the write committed finds it and does not cache the stale row.
const INVALIDATION_MARKER_MS = 5_000;

// KEYS[1] value key, KEYS[2] marker key; ARGV[1] value, ARGV[2] TTL seconds.
const FILL_SCRIPT = `if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1`;
// KEYS[1] value key, KEYS[2] marker key; ARGV[1] marker TTL ms.
const INVALIDATE_SCRIPT = `redis.call('SET', KEYS[2], '1', 'PX', ARGV[1]) return redis.call('DEL', KEYS[1])`;

type LruValue = RedirectSnapshot | typeof NEGATIVE;

/** A miss waiting for its batch. */
interface PendingLoad {
  domain: string;
  code: string;
  resolve: (lookup: CacheLookup) => void;
  reject: (error: unknown) => void;
}

/**
 * The redirect's read path (DESIGN.md section 5): in-process LRU (bounded,
 * TTL of seconds as a safety net) -> cache Redis -> PostgreSQL, with negative
 * caching of unknown codes and concurrent misses for one key coalesced into
 * one query. Writes call {@link invalidate}: Redis is cleared and every
 * process's LRU through the {@link InvalidationBus}.
 *
 * Races: a fill that started before an invalidation never writes its result
 * (local epochs for the LRU, a short-lived Redis marker for Redis).
 * Redis errors (outage, timeout) fall through to PostgreSQL.
 *
 * Misses are batched per turn of the event loop: the misses of every request
 * read in one poll phase go out together in the check phase (setImmediate),
 * as one auto-pipelined write of Redis GETs, one PostgreSQL query for the
 * codes Redis did not have ({@link SNAPSHOT_BATCH_SQL}) and one pipelined
 * write of fills. Under concurrency a cold redirect then costs a fraction of
 * three round trips' syscalls (measured in docs/benchmarks.md); alone, it
 * waits for nothing but the rest of its own loop turn.
 */
@Injectable()
export class LinkCacheService implements OnModuleInit {
  private readonly logger = new Logger(LinkCacheService.name);
  private readonly lru: LRUCache<string, LruValue> | null;
  private readonly inflight = new Map<string, Promise<CacheLookup>>();
  private readonly invalidatedAtEpoch = new LRUCache<string, number>({ max: 100_000, ttl: 60_000 });
  private pendingLoads: PendingLoad[] = [];
  private loadsScheduled = false;
  private epoch = 0;
  private resetEpoch = 0;
  private readonly prefix: string;
  private readonly redisHit;
  private readonly redisMiss;
  private readonly lruHit;
  private readonly lruMiss;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CACHE_REDIS) private readonly redis: Redis,
    private readonly bus: InvalidationBus,
    private readonly pools: PgPools,
    metrics: MetricsService,
  ) {
    const { lruMaxEntries, lruTtlMs } = config.cache;
    this.lru = lruMaxEntries > 0 && lruTtlMs > 0 ? new LRUCache<string, LruValue>({ max: lruMaxEntries, ttl: lruTtlMs }) : null;
    this.prefix = config.redis.keyPrefix;
    this.lruHit = metrics.cacheRequests.labels('lru', 'hit');
    this.lruMiss = metrics.cacheRequests.labels('lru', 'miss');
    this.redisHit = metrics.cacheRequests.labels('redis', 'hit');
    this.redisMiss = metrics.cacheRequests.labels('redis', 'miss');
    redis.defineCommand('shortenerFill', { numberOfKeys: 2, lua: FILL_SCRIPT });
    redis.defineCommand('shortenerInvalidate', { numberOfKeys: 2, lua: INVALIDATE_SCRIPT });
  }

  onModuleInit(): void {
    this.bus.subscribe((m) => this.onInvalidation(m));
  }

  /**
   * Looks a link up through the layers: synchronously on an LRU hit (no
   * promise on the hot path), else a promise. Never fails for a Redis
   * failure; fails when PostgreSQL does.
   */
  get(domain: string, code: string): CacheLookup | Promise<CacheLookup> {
    const key = `${domain}/${code}`;
    const cached = this.lru?.get(key);
    if (cached !== undefined) {
      this.lruHit.inc();
      return { snapshot: cached === NEGATIVE ? null : cached, layer: 'lru' };
    }
    if (this.lru) this.lruMiss.inc();
    const pending = this.inflight.get(key);
    if (pending) return pending;
    return this.fill(domain, code, key);
  }

  private fill(domain: string, code: string, key: string): Promise<CacheLookup> {
    const startEpoch = this.epoch;
    const lookup = this.load(domain, code).then((result) => {
      if (this.inflight.get(key) === lookup) this.inflight.delete(key);
      const invalidated = (this.invalidatedAtEpoch.get(key) ?? -1) > startEpoch || this.resetEpoch > startEpoch;
      if (this.lru && !invalidated) this.lru.set(key, result.snapshot ?? NEGATIVE);
      return result;
    });
    this.inflight.set(key, lookup);
    lookup.catch(() => this.inflight.delete(key));
    return lookup;
  }

  /**
   * Drops a link from every cache layer of every process. Call after the
   * write has committed. Never throws.
   *
   * One round trip: the Redis script and the bus message are issued in the
   * same tick on the one cache client, which auto-pipelines them into one
   * write (without auto-pipelining: two writes, still one round trip). Redis
   * runs them in that order, so a process that gets the message finds Redis
   * already cleared; this process's LRU is cleared synchronously, and its
   * later Redis reads queue behind the script on the same connection.
   * Resolves when both have answered.
   */
  async invalidate(domain: string, code: string): Promise<void> {
    const cleared = (this.redis as any)
      .shortenerInvalidate(this.valueKey(domain, code), this.markerKey(domain, code), INVALIDATION_MARKER_MS)
      .catch((e: Error) => this.logger.warn(`cache invalidation in Redis failed for ${domain}/${code}: ${e.message}`));
    await Promise.all([cleared, this.bus.publish({ kind: 'link', domain, code })]);
  }

  /** Queues a miss for the batch of this loop turn. */
  private load(domain: string, code: string): Promise<CacheLookup> {
    return new Promise<CacheLookup>((resolve, reject) => {
      this.pendingLoads.push({ domain, code, resolve, reject });
      if (!this.loadsScheduled) {
        this.loadsScheduled = true;
        setImmediate(() => this.startBatches());
      }
    });
  }

  private startBatches(): void {
    this.loadsScheduled = false;
    const pending = this.pendingLoads;
    this.pendingLoads = [];
    for (let i = 0; i < pending.length; i += MISS_BATCH_MAX) void this.loadBatch(pending.slice(i, i + MISS_BATCH_MAX));
  }

  /** Settles every item of the batch: a failure fails the items it left unsettled (settling twice is a no-op). */
  private async loadBatch(batch: PendingLoad[]): Promise<void> {
    try {
      await this.resolveBatch(batch);
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }

  /** Redis for every miss of the batch, then PostgreSQL for the rest (failing those if it fails), then fills. */
  private async resolveBatch(batch: PendingLoad[]): Promise<void> {
    // Issued in one synchronous loop: the auto-pipelining client writes them as one pipeline.
    const cached = await Promise.all(batch.map((p) => this.redis.get(this.valueKey(p.domain, p.code)).catch(() => null)));
    const misses: PendingLoad[] = [];
    for (let i = 0; i < batch.length; i++) {
      const raw = cached[i];
      if (raw === null || raw === undefined) {
        this.redisMiss.inc();
        misses.push(batch[i]);
        continue;
      }
      this.redisHit.inc();
      try {
        batch[i].resolve({ snapshot: raw === NEGATIVE ? null : (JSON.parse(raw) as RedirectSnapshot), layer: 'redis' });
      } catch {
        // A value this version cannot read is a miss.
        misses.push(batch[i]);
      }
    }
    if (misses.length === 0) return;
    // A named statement: each pooled connection parses and plans it once, not per batch.
    const { rows } = await this.pools.read.query({
      name: SNAPSHOT_STATEMENT,
      text: SNAPSHOT_BATCH_SQL,
      values: [misses.map((p) => p.domain), misses.map((p) => p.code)],
    });
    const found = new Map<string, Record<string, any>>();
    for (const r of rows) found.set(`${r.domain}/${r.code}`, r);
    for (const p of misses) {
      const row = found.get(`${p.domain}/${p.code}`);
      const snapshot = row ? snapshotFromRow(row) : null;
      const ttl = snapshot ? this.config.cache.redisTtlSeconds : this.config.cache.negativeTtlSeconds;
      (this.redis as any)
        .shortenerFill(this.valueKey(p.domain, p.code), this.markerKey(p.domain, p.code), snapshot ? JSON.stringify(snapshot) : NEGATIVE, ttl)
        .catch(() => undefined);
      p.resolve({ snapshot, layer: 'db' });
    }
  }

  private onInvalidation(m: InvalidationMessage): void {
    this.epoch += 1;
    if (m.kind === 'link') {
      const key = `${m.domain}/${m.code}`;
      this.lru?.delete(key);
      this.inflight.delete(key);
      this.invalidatedAtEpoch.set(key, this.epoch);
    } else if (m.kind === 'all' || m.kind === 'reset') {
      this.lru?.clear();
      this.inflight.clear();
      this.resetEpoch = this.epoch;
    }
  }

  // A hash tag keeps both keys of a link in one Redis Cluster slot (the scripts use both).
  private valueKey(domain: string, code: string): string {
    return `${this.prefix}link:{${domain}/${code}}`;
  }

  private markerKey(domain: string, code: string): string {
    return `${this.prefix}link-inv:{${domain}/${code}}`;
  }
}
