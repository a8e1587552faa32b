import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { CACHE_REDIS, HLL_SCRATCH_TTL_MS, REDIS_KEYS } from '@shortener/redis';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';

// KEYS[1] scratch key; ARGV[1] number of HLLs, then per HLL: its stored bytes
// ('' for none), the number of elements, the elements. Per HLL: loads the
// stored bytes, adds the elements (PFADD validates the stored bytes) and
// answers the new raw bytes, or false (nil) when PFADD changed nothing; the
// scratch key is gone afterwards.
const MERGE_ADD_SCRIPT = `
local out = {}
local i = 2
for u = 1, tonumber(ARGV[1]) do
  local stored = ARGV[i]
  local last = i + 1 + tonumber(ARGV[i + 1])
  redis.call('DEL', KEYS[1])
  local changed = 0
  if stored ~= '' then redis.call('SET', KEYS[1], stored, 'PX', ${HLL_SCRATCH_TTL_MS}) else changed = 1 end
  if last == i + 1 then redis.call('PFADD', KEYS[1]) end
  for j = i + 2, last, 500 do
    if redis.call('PFADD', KEYS[1], unpack(ARGV, j, math.min(j + 499, last))) == 1 then changed = 1 end
  end
  if changed == 1 then out[u] = redis.call('GET', KEYS[1]) else out[u] = false end
  i = last + 1
end
redis.call('DEL', KEYS[1])
return out`;

// KEYS[1..n] scratch keys (one hash slot); ARGV[1..n] stored HLL bytes.
// PFCOUNT over several keys is the cardinality of their union.
const UNION_COUNT_SCRIPT = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i], 'PX', ${HLL_SCRATCH_TTL_MS}) end
local n = redis.call('PFCOUNT', unpack(KEYS))
redis.call('DEL', unpack(KEYS))
return n`;

/** Most HLLs counted in one union (one per UTC day of a stats range). */
export const MAX_UNION_SIZE = 1_000;
/**
 * Work of one merge-add script call, bounded so that one call stays short
 * (Redis runs a script alone, and the cache client has a command timeout):
 * at most this many HLLs, and at most {@link MERGE_ADD_MAX_ARGS} arguments.
 */
export const MERGE_ADD_MAX_HLLS = 256;
/** Most script arguments (stored HLLs, counts and visitor hashes) of one merge-add call. */
export const MERGE_ADD_MAX_ARGS = 20_000;

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
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CACHE_REDIS) private readonly redis: Redis,
  ) {
    redis.defineCommand('shortenerHllMergeAdd', { numberOfKeys: 1, lua: MERGE_ADD_SCRIPT });
    redis.defineCommand('shortenerHllUnionCount', { lua: UNION_COUNT_SCRIPT });
  }

  /**
   * Adds visitor hashes to stored HLLs: a few script calls for any number of
   * HLLs ({@link MERGE_ADD_MAX_HLLS} HLLs or {@link MERGE_ADD_MAX_ARGS}
   * arguments per call, sent together in one round trip).
   * @returns per update, in the order of `updates`: the new bytes, or null
   *   when the hashes were all counted already (the stored bytes stand).
   * @throws Error when Redis fails or refuses stored bytes that are not an HLL.
   */
  async add(updates: readonly HllUpdate[]): Promise<(Buffer | null)[]> {
    if (updates.length === 0) return [];
    const key = REDIS_KEYS.hllScratch.key(this.config.redis, randomUUID());
    const calls: { count: number; args: (string | Buffer | number)[] }[] = [];
    let call: { count: number; args: (string | Buffer | number)[] } | undefined;
    for (const u of updates) {
      if (!call || call.count >= MERGE_ADD_MAX_HLLS || call.args.length + 2 + u.visitorHashes.length > MERGE_ADD_MAX_ARGS) {
        calls.push((call = { count: 0, args: [] }));
      }
      call.count += 1;
      call.args.push(u.stored, u.visitorHashes.length);
      for (const h of u.visitorHashes) call.args.push(h);
    }
    const pipeline = this.redis.pipeline();
    for (const c of calls) (pipeline as any).shortenerHllMergeAddBuffer(key, c.count, c.args);
    const results = (await pipeline.exec()) ?? [];
    const out: (Buffer | null)[] = [];
    results.forEach(([error, bytes], i) => {
      if (error) throw new Error(`HLL update (call ${i}) failed: ${error.message}`);
      for (const b of bytes as (Buffer | null)[]) out.push(b ?? null);
    });
    if (out.length !== updates.length) throw new Error(`HLL update answered ${out.length} HLLs for ${updates.length}`);
    return out;
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
    const id = randomUUID();
    const keys = nonEmpty.map((_, i) => REDIS_KEYS.hllScratch.key(this.config.redis, id, i));
    return Number(await (this.redis as any).shortenerHllUnionCount(keys.length, ...keys, ...nonEmpty));
  }
}
