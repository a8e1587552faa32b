import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { BatchOutcome, Batcher } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { CounterChild, deferredCounterChild, MetricsService } from '@shortener/observability';
import { CACHE_REDIS, groupBySlotTag, InvalidationBus, InvalidationMessage, LINK_INVALIDATED_TTL_MS, REDIS_KEYS } from '@shortener/redis';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { LinkRepository } from '../application/link.repository';
import { RedirectSnapshot, snapshotFromRow } from './redirect-snapshot';

/** Where a lookup was answered. */
export type CacheLayer = 'lru' | 'redis' | 'db';

/** A lookup result; `snapshot` null means no such link (negative, cached too). */
export interface CacheLookup {
  snapshot: RedirectSnapshot | null;
  layer: CacheLayer;
}

const NEGATIVE = '0';
/** At most this many misses go to Redis and PostgreSQL as one batch. */
export const MISS_BATCH_MAX = 256;
/** Redis batches of misses running at once per process (Redis answers in well under a millisecond). */
export const REDIS_LOOKUPS_IN_FLIGHT = 8;

// The fills of one batch: KEYS value key and marker key of each link in turn,
// ARGV its value and TTL seconds in the same order. A link whose marker exists
// is skipped. Returns how many were written.
const FILL_SCRIPT = `local filled = 0
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('SET', KEYS[i], ARGV[i], 'EX', ARGV[i + 1])
    filled = filled + 1
  end
end
return filled`;
// KEYS[1] value key, KEYS[2] marker key; ARGV[1] marker TTL ms.
const INVALIDATE_SCRIPT = `redis.call('SET', KEYS[2], '1', 'PX', ARGV[1]) return redis.call('DEL', KEYS[1])`;

type LruValue = RedirectSnapshot | typeof NEGATIVE;

/** A link to look up in Redis, then PostgreSQL. */
interface MissKey {
  domain: string;
  code: string;
}

/**
 * The redirect's read path (docs/design.md section 5): in-process LRU (bounded,
 * TTL of seconds as a safety net) -> cache Redis -> PostgreSQL, with negative
 * caching of unknown codes and concurrent misses for one key coalesced into
 * one query. Writes call {@link invalidate}: Redis is cleared and every
 * process's LRU through the {@link InvalidationBus}.
 *
 * Races: a fill that started before an invalidation never writes its result
 * (local epochs for the LRU, a short-lived Redis marker for Redis).
 * Redis errors (outage, timeout) fall through to PostgreSQL.
 *
 * Misses are batched per turn of the event loop ({@link Batcher}): the
 * misses of every request read in one poll phase go out together, as one
 * Redis `MGET`, one PostgreSQL query for the codes Redis did not have
 * (`LinkRepository.redirectSnapshotRows`) and one script call that fills them all.
 * Under concurrency a cold redirect then costs a fraction of three round
 * trips' syscalls (measured in docs/benchmarks.md); alone, it waits for
 * nothing but the rest of its own loop turn. One command each, not a
 * pipeline of one per link: an ioredis pipeline's objects outlived a
 * scavenge and went to old space (13% of what a Redis-hit redirect
 * allocated survived a scavenge, 5% with one `MGET`), and the major GCs
 * that followed made the cold redirect's p99 (docs/benchmarks.md,
 * "Garbage collection: the growing factor").
 * Multi-key commands need every key in one slot on a Redis Cluster, and
 * the links of a batch are in many (each link's keys carry its own hash
 * tag, REDIS_KEYS in @shortener/redis): on a Cluster client the `MGET` and
 * the fill go out once per hash tag ({@link groupBySlotTag}); on the
 * single-node client, once per batch.
 */
@Injectable()
export class LinkCacheService implements OnModuleInit {
  private readonly logger = new Logger(LinkCacheService.name);
  private readonly lru: LRUCache<string, LruValue> | null;
  private readonly inflight = new Map<string, Promise<CacheLookup>>();
  private readonly invalidatedAtEpoch = new LRUCache<string, number>({ max: 100_000, ttl: 60_000 });
  private readonly redisLookups: Batcher<MissKey, CacheLookup | null>;
  private readonly dbLookups: Batcher<MissKey, CacheLookup>;
  private epoch = 0;
  private resetEpoch = 0;
  private readonly redisHit: CounterChild;
  private readonly redisMiss: CounterChild;
  private readonly lruHit: CounterChild;
  private readonly lruMiss: CounterChild;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CACHE_REDIS) private readonly redis: Redis,
    private readonly bus: InvalidationBus,
    private readonly links: LinkRepository,
    metrics: MetricsService,
  ) {
    const { lruMaxEntries, lruTtlMs } = config.cache;
    this.lru = lruMaxEntries > 0 && lruTtlMs > 0 ? new LRUCache<string, LruValue>({ max: lruMaxEntries, ttl: lruTtlMs }) : null;
    this.lruHit = deferredCounterChild(metrics.cacheRequests, { layer: 'lru', result: 'hit' });
    this.lruMiss = deferredCounterChild(metrics.cacheRequests, { layer: 'lru', result: 'miss' });
    this.redisHit = deferredCounterChild(metrics.cacheRequests, { layer: 'redis', result: 'hit' });
    this.redisMiss = deferredCounterChild(metrics.cacheRequests, { layer: 'redis', result: 'miss' });
    // Two bulkheads: a lookup Redis can answer never waits behind one that needs PostgreSQL.
    this.redisLookups = new Batcher((batch) => this.readRedis(batch), { maxBatch: MISS_BATCH_MAX, maxInFlight: REDIS_LOOKUPS_IN_FLIGHT });
    // While a pool's worth of batches run, further misses wait and join the next one, up to REDIRECT_DB_MAX_QUEUED.
    this.dbLookups = new Batcher((batch) => this.readDatabase(batch), {
      maxBatch: MISS_BATCH_MAX,
      maxInFlight: config.db.poolSize,
      maxQueued: config.links.redirectDbMaxQueued,
    });
    // The fill's key count varies with the batch: the caller passes it first.
    redis.defineCommand('shortenerFill', { lua: FILL_SCRIPT });
    redis.defineCommand('shortenerInvalidate', { numberOfKeys: 2, lua: INVALIDATE_SCRIPT });
  }

  onModuleInit(): void {
    this.bus.subscribe((m) => {
      this.onInvalidation(m);
    });
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
   * same tick on the one cache client (two writes on one connection), and
   * Redis runs them in that order, so a process that gets the message finds
   * Redis already cleared; this process's LRU is cleared synchronously, and its
   * later Redis reads queue behind the script on the same connection.
   * Resolves when both have answered.
   */
  async invalidate(domain: string, code: string): Promise<void> {
    const cleared = (this.redis as any)
      .shortenerInvalidate(this.valueKey(domain, code), this.markerKey(domain, code), LINK_INVALIDATED_TTL_MS)
      .catch((e: Error) => {
        this.logger.warn(`cache invalidation in Redis failed for ${domain}/${code}: ${e.message}`);
      });
    await Promise.all([cleared, this.bus.publish({ kind: 'link', domain, code })]);
  }

  /**
   * A miss of the in-process cache: Redis first (batched per loop turn,
   * {@link Batcher}), then PostgreSQL for what Redis did not have.
   * @throws BatchQueueFullError at once when `REDIRECT_DB_MAX_QUEUED` lookups already wait for PostgreSQL.
   */
  private load(domain: string, code: string): Promise<CacheLookup> {
    const key = { domain, code };
    return this.redisLookups.submit(key).then((hit) => hit ?? this.dbLookups.submit(key));
  }

  /**
   * One `MGET` for the batch (on a Cluster, one per hash tag): each item's
   * snapshot, or null when Redis does not have it (or failed: PostgreSQL
   * answers then).
   */
  private async readRedis(batch: MissKey[]): Promise<BatchOutcome<CacheLookup | null>[]> {
    const keys = batch.map((k) => this.valueKey(k.domain, k.code));
    const cached = await (this.redis.isCluster ? this.mgetPerSlot(keys) : this.redis.mget(keys)).catch(() => null);
    const outcomes: BatchOutcome<CacheLookup | null>[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const raw = cached === null ? null : cached.at(i);
      outcomes[i] = { value: null };
      if (raw === null || raw === undefined) {
        this.redisMiss.inc();
        continue;
      }
      this.redisHit.inc();
      try {
        outcomes[i] = { value: { snapshot: raw === NEGATIVE ? null : (JSON.parse(raw) as RedirectSnapshot), layer: 'redis' } };
      } catch {
        // A value this version cannot read is a miss.
      }
    }
    return outcomes;
  }

  /**
   * One PostgreSQL query for the batch, then one script call (on a Cluster,
   * one per hash tag) that fills Redis with what it found (and negative
   * entries for the rest).
   */
  private async readDatabase(batch: MissKey[]): Promise<BatchOutcome<CacheLookup>[]> {
    const rows = await this.links.redirectSnapshotRows(
      batch.map((k) => k.domain),
      batch.map((k) => k.code),
    );
    const found = new Map<string, Record<string, any>>();
    for (const r of rows) found.set(`${r.domain}/${r.code}`, r);
    const outcomes: BatchOutcome<CacheLookup>[] = new Array(batch.length);
    const keys: string[] = [];
    const args: (string | number)[] = [];
    batch.forEach(({ domain, code }, i) => {
      const row = found.get(`${domain}/${code}`);
      const snapshot = row ? snapshotFromRow(row) : null;
      keys.push(this.valueKey(domain, code), this.markerKey(domain, code));
      args.push(snapshot ? JSON.stringify(snapshot) : NEGATIVE, snapshot ? this.config.cache.redisTtlSeconds : this.config.cache.negativeTtlSeconds);
      outcomes[i] = { value: { snapshot, layer: 'db' } };
    });
    // Not awaited: the redirects go out now; a failed fill only leaves the next lookup a miss.
    if (this.redis.isCluster) this.fillPerSlot(keys, args);
    else (this.redis as any).shortenerFill(keys.length, ...keys, ...args).catch(() => undefined);
    return outcomes;
  }

  /** `MGET` on a Cluster: one command per hash tag (a command over several slots fails with `CROSSSLOT`), the values in the order of `keys`. */
  private async mgetPerSlot(keys: string[]): Promise<(string | null)[]> {
    const values = new Array<string | null>(keys.length).fill(null);
    const groups = groupBySlotTag(
      keys.map((_, i) => i),
      (i) => keys[i],
    );
    await Promise.all(
      groups.map(async (group) => {
        const answered = await this.redis.mget(group.map((i) => keys[i]));
        group.forEach((i, j) => (values[i] = answered[j] ?? null));
      }),
    );
    return values;
  }

  /** The fill script on a Cluster: one call per hash tag, each with the value and marker keys (one tag) of its links. */
  private fillPerSlot(keys: string[], args: (string | number)[]): void {
    const links = Array.from({ length: keys.length / 2 }, (_, i) => 2 * i);
    for (const group of groupBySlotTag(links, (i) => keys[i])) {
      const groupKeys = group.flatMap((i) => [keys[i], keys[i + 1]]);
      const groupArgs = group.flatMap((i) => [args[i], args[i + 1]]);
      (this.redis as any).shortenerFill(groupKeys.length, ...groupKeys, ...groupArgs).catch(() => undefined);
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

  // One hash tag keeps both keys of a link in one Redis Cluster slot (the scripts use both).
  private valueKey(domain: string, code: string): string {
    return REDIS_KEYS.link.key(this.config.redis, domain, code);
  }

  private markerKey(domain: string, code: string): string {
    return REDIS_KEYS.linkInvalidated.key(this.config.redis, domain, code);
  }
}
