import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { CACHE_REDIS } from '@shortener/redis';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';

// KEYS[1] scratch key; ARGV[1] stored HLL bytes ('' for none), ARGV[2..] elements.
// Loads the stored HLL, adds the elements (PFADD validates the stored bytes)
// and returns the new raw bytes; the scratch key is gone afterwards.
const MERGE_ADD_SCRIPT = `
redis.call('DEL', KEYS[1])
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) end
if #ARGV == 1 then redis.call('PFADD', KEYS[1]) end
for i = 2, #ARGV, 500 do redis.call('PFADD', KEYS[1], unpack(ARGV, i, math.min(i + 499, #ARGV))) end
local bytes = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
return bytes`;

// KEYS[1..n] scratch keys (one hash slot); ARGV[1..n] stored HLL bytes.
// PFCOUNT over several keys is the cardinality of their union.
const UNION_COUNT_SCRIPT = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i], 'PX', 60000) end
local n = redis.call('PFCOUNT', unpack(KEYS))
redis.call('DEL', unpack(KEYS))
return n`;

/** Most HLLs counted in one union (one per UTC day of a stats range). */
export const MAX_UNION_SIZE = 1_000;

/** A stored HLL plus the visitor hashes to add to it. */
export interface HllUpdate {
  /** The HLL bytes as stored in PostgreSQL; empty for a new one. */
  stored: Buffer;
  visitorHashes: readonly string[];
}

/**
 * Unique visitors as Redis HyperLogLogs whose durable copy is PostgreSQL
 * (`link_visitors_daily.hll`, the raw string Redis `GET` returns). Redis is
 * only the HLL engine: each operation loads the stored bytes into a scratch
 * key, works on it with PFADD or PFCOUNT and deletes it, in one script. No
 * visitor state lives only in Redis, so a Redis restart or eviction loses
 * nothing, and the cache Redis (eviction allowed) is good enough.
 *
 * Errors (Redis down, corrupt bytes: PFADD refuses a non-HLL string) are
 * thrown to the caller.
 */
@Injectable()
export class VisitorHllStore {
  private readonly prefix: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(CACHE_REDIS) private readonly redis: Redis,
  ) {
    this.prefix = `${config.redis.keyPrefix}hll-tmp:`;
    redis.defineCommand('shortenerHllMergeAdd', { numberOfKeys: 1, lua: MERGE_ADD_SCRIPT });
    redis.defineCommand('shortenerHllUnionCount', { lua: UNION_COUNT_SCRIPT });
  }

  /**
   * Adds visitor hashes to stored HLLs, in one round trip.
   * @returns the new bytes of each HLL, in the order of `updates`.
   */
  async add(updates: readonly HllUpdate[]): Promise<Buffer[]> {
    if (updates.length === 0) return [];
    const run = randomUUID();
    const pipeline = this.redis.pipeline();
    updates.forEach((u, i) => {
      (pipeline as any).shortenerHllMergeAddBuffer(`${this.prefix}{${run}}:${i}`, u.stored, ...u.visitorHashes);
    });
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, bytes], i) => {
      if (error) throw new Error(`HLL update ${i} failed: ${error.message}`);
      return bytes as Buffer;
    });
  }

  /**
   * The estimated number of distinct visitors in the union of stored HLLs
   * (HyperLogLog, standard error 0.81%; exact for small sets in practice).
   * @throws Error for more than {@link MAX_UNION_SIZE} HLLs.
   */
  async unionCount(stored: readonly Buffer[]): Promise<number> {
    const nonEmpty = stored.filter((b) => b.length > 0);
    if (nonEmpty.length === 0) return 0;
    if (nonEmpty.length > MAX_UNION_SIZE) throw new Error(`at most ${MAX_UNION_SIZE} HLLs per union`);
    // One hash tag keeps every scratch key in one Redis Cluster slot, as a multi-key script needs.
    const tag = `{${randomUUID()}}`;
    const keys = nonEmpty.map((_, i) => `${this.prefix}${tag}:${i}`);
    return Number(await (this.redis as any).shortenerHllUnionCount(keys.length, ...keys, ...nonEmpty));
  }
}
