/**
 * Every Redis key, channel and key prefix the product uses, by family, in one
 * table ({@link REDIS_KEYS}). Code builds keys only through it, so each
 * family's shape, server, lifetime and hash tag are declared once.
 *
 * Two prefixes, both from the configuration:
 * - `REDIS_KEY_PREFIX` (`config.redis.keyPrefix`, default `shortener:`): every
 *   key and channel on the cache Redis. It should hold no `{`: a hash tag in it
 *   would override the families' own tags and put every cache key in one slot.
 * - `QUEUE_PREFIX` (`config.redis.queuePrefix`, default `{shortener}`): every
 *   key on the queue Redis. Its braces are the hash tag of all BullMQ keys, as
 *   BullMQ requires on a Cluster (its scripts touch many keys of a queue).
 *
 * | family                 | server | shape                                              | hash tag          | lifetime                                  |
 * |------------------------|--------|----------------------------------------------------|-------------------|-------------------------------------------|
 * | `link`                 | cache  | `<REDIS_KEY_PREFIX>link:{<domain>/<code>}`         | `{<domain>/<code>}` | `CACHE_REDIS_TTL_SECONDS` s; `CACHE_NEGATIVE_TTL_SECONDS` s for a negative entry (value `0`) |
 * | `linkInvalidated`      | cache  | `<REDIS_KEY_PREFIX>link-inv:{<domain>/<code>}`     | `{<domain>/<code>}` | {@link LINK_INVALIDATED_TTL_MS} ms        |
 * | `rateLimit`            | cache  | `<REDIS_KEY_PREFIX>rl:<limiter>:<subject>`         | none (one key per command) | the 60 s window                  |
 * | `hllScratch`           | cache  | `<REDIS_KEY_PREFIX>hll-tmp:{<id>}[:<n>]`           | `{<id>}`          | {@link HLL_SCRATCH_TTL_MS} ms at most; the script deletes it |
 * | `invalidationChannel`  | cache  | `<REDIS_KEY_PREFIX>invalidation` (pub/sub channel) | none (PUBLISH reaches every node) | -                  |
 * | `queue`                | queue  | `<QUEUE_PREFIX>:<queue>:<suffix>` (built by BullMQ) | QUEUE_PREFIX's tag | BullMQ's                                 |
 * | `queuedClicks`         | queue  | `<QUEUE_PREFIX>:<queue>:queued-clicks`             | QUEUE_PREFIX's tag | none (a counter)                          |
 * | `queueHealth`          | queue  | `<QUEUE_PREFIX>:health`                            | QUEUE_PREFIX's tag | {@link QUEUE_HEALTH_TTL_MS} ms            |
 *
 * Hash tags follow the Redis Cluster specification
 * (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags):
 * only the part between the first `{` and the next `}` is hashed, when it is
 * not empty. Every multi-key command or Lua script touches keys of one family
 * group only, under one hash tag: a link's value and marker (`{<domain>/<code>}`),
 * one operation's HLL scratch keys (`{<id>}`), one queue's BullMQ keys and its
 * click counter (`QUEUE_PREFIX`). A command over several links (the redirect's
 * batched `MGET` and fill script) spans slots: on a Cluster client it is sent
 * once per hash tag ({@link groupBySlotTag}).
 */

/** The configured prefixes (`config.redis` has both). */
export interface RedisKeyPrefixes {
  /** `REDIS_KEY_PREFIX`: keys and channels on the cache Redis. */
  keyPrefix: string;
  /** `QUEUE_PREFIX`: BullMQ's `prefix` and other keys on the queue Redis. */
  queuePrefix: string;
}

/** What every family declares. */
interface RedisKeyFamilyInfo {
  /** The family's name in this registry. */
  name: string;
  /** What its keys hold and who uses them. */
  purpose: string;
  /** The key shape, `<...>` for the parts. */
  shape: string;
  /**
   * The hash tag, `<...>` for the parts, or null when the whole key is hashed
   * (no command touches two of its keys). Families with the same tag shape
   * share a slot for the same parts.
   */
  hashTag: string | null;
}

/** A family on the cache Redis: its keys start with `REDIS_KEY_PREFIX`. */
export interface CacheKeyFamily<Parts extends unknown[]> extends RedisKeyFamilyInfo {
  server: 'cache';
  /** Builds a key (or channel) from the configured prefix and its parts. */
  key(prefixes: Pick<RedisKeyPrefixes, 'keyPrefix'>, ...parts: Parts): string;
}

/** A family on the queue Redis: its keys start with `QUEUE_PREFIX`. */
export interface QueueKeyFamily<Parts extends unknown[]> extends RedisKeyFamilyInfo {
  server: 'queue';
  /** Builds a key from the configured prefix and its parts. */
  key(prefixes: Pick<RedisKeyPrefixes, 'queuePrefix'>, ...parts: Parts): string;
}

/** A family of Redis keys (or a pub/sub channel): what it holds and how its keys are built. */
export type RedisKeyFamily = CacheKeyFamily<unknown[]> | QueueKeyFamily<unknown[]>;

/** Rate limiters counted in Redis; part of their keys. */
export type RedisRateLimiter = 'api-key' | 'client' | 'auth-failure';

/** How long an invalidation marker stops fills of the link it names (ms). */
export const LINK_INVALIDATED_TTL_MS = 5_000;
/** The longest an HLL scratch key outlives a failed script (ms); the scripts set it and delete the key themselves. */
export const HLL_SCRATCH_TTL_MS = 60_000;
/** How long the queue Redis health probe's key lives (ms). */
export const QUEUE_HEALTH_TTL_MS = 60_000;

/** Every Redis key family (see the table at the top of this file). */
export const REDIS_KEYS = {
  link: {
    name: 'link',
    purpose:
      "The redirect's cached snapshot of a link (JSON), or `0` for a negative entry (no such link); " +
      'filled after a PostgreSQL read unless the link was just invalidated, deleted on invalidation.',
    server: 'cache',
    shape: '<REDIS_KEY_PREFIX>link:{<domain>/<code>}',
    hashTag: '{<domain>/<code>}',
    key: (p, domain: string, code: string) => `${p.keyPrefix}link:{${domain}/${code}}`,
  } satisfies CacheKeyFamily<[domain: string, code: string]>,
  linkInvalidated: {
    name: 'linkInvalidated',
    purpose:
      'Marker left by an invalidation of a link: a fill that read PostgreSQL before the write committed ' +
      'finds it and does not cache the stale row. Written and read by the same scripts as the link value.',
    server: 'cache',
    shape: '<REDIS_KEY_PREFIX>link-inv:{<domain>/<code>}',
    hashTag: '{<domain>/<code>}',
    key: (p, domain: string, code: string) => `${p.keyPrefix}link-inv:{${domain}/${code}}`,
  } satisfies CacheKeyFamily<[domain: string, code: string]>,
  rateLimit: {
    name: 'rateLimit',
    purpose:
      "An API rate limit's counter for one subject (API key id or client address) in a fixed 60 s window " +
      '(rate-limiter-flexible; one key per command, so no hash tag).',
    server: 'cache',
    shape: '<REDIS_KEY_PREFIX>rl:<limiter>:<subject>',
    hashTag: null,
    key: (p, limiter: RedisRateLimiter, subject: string) => `${rateLimitKeyPrefix(p, limiter)}:${subject}`,
  } satisfies CacheKeyFamily<[limiter: RedisRateLimiter, subject: string]>,
  hllScratch: {
    name: 'hllScratch',
    purpose:
      "Scratch HyperLogLogs of one unique-visitor operation: loaded from PostgreSQL's bytes, worked on " +
      'with PFADD or PFCOUNT and deleted by the same script. `<n>` numbers the keys of one union.',
    server: 'cache',
    shape: '<REDIS_KEY_PREFIX>hll-tmp:{<id>}[:<n>]',
    hashTag: '{<id>}',
    key: (p, id: string, n?: number) => `${p.keyPrefix}hll-tmp:{${id}}${n === undefined ? '' : `:${n}`}`,
  } satisfies CacheKeyFamily<[id: string, n?: number]>,
  invalidationChannel: {
    name: 'invalidationChannel',
    purpose:
      'The pub/sub channel of the invalidation bus (links, API keys, blocklist). Not a key: PUBLISH ' +
      'reaches every node of a Cluster, so it has no slot to share.',
    server: 'cache',
    shape: '<REDIS_KEY_PREFIX>invalidation',
    hashTag: null,
    key: (p) => `${p.keyPrefix}invalidation`,
  } satisfies CacheKeyFamily<[]>,
  queue: {
    name: 'queue',
    purpose:
      "BullMQ's keys of one queue (wait, active, delayed, prioritized, jobs, ...). BullMQ builds them from " +
      '`QUEUE_PREFIX` as its `prefix` ({@link bullmqPrefix}); this shape is what it writes.',
    server: 'queue',
    shape: '<QUEUE_PREFIX>:<queue>:<suffix>',
    hashTag: '{<the tag in QUEUE_PREFIX>}',
    key: (p, queueName: string, suffix: string) => `${p.queuePrefix}:${queueName}:${suffix}`,
  } satisfies QueueKeyFamily<[queueName: string, suffix: string]>,
  queuedClicks: {
    name: 'queuedClicks',
    purpose:
      "A queue's depth in clicks, a counter next to BullMQ's keys of that queue (its reconcile script " +
      "reads the queue's lists and sets it, so it must share their slot).",
    server: 'queue',
    shape: '<QUEUE_PREFIX>:<queue>:queued-clicks',
    hashTag: '{<the tag in QUEUE_PREFIX>}',
    key: (p, queueName: string) => `${p.queuePrefix}:${queueName}:queued-clicks`,
  } satisfies QueueKeyFamily<[queueName: string]>,
  queueHealth: {
    name: 'queueHealth',
    purpose: 'The key the health probe writes to prove the queue Redis accepts writes (noeviction refuses them when full).',
    server: 'queue',
    shape: '<QUEUE_PREFIX>:health',
    hashTag: '{<the tag in QUEUE_PREFIX>}',
    key: (p) => `${p.queuePrefix}:health`,
  } satisfies QueueKeyFamily<[]>,
} as const;

/** A family's name in {@link REDIS_KEYS}. */
export type RedisKeyFamilyName = keyof typeof REDIS_KEYS;

/** Every family as a list (each is a {@link RedisKeyFamily}). */
export const REDIS_KEY_FAMILIES: readonly RedisKeyFamily[] = Object.values(REDIS_KEYS);

/**
 * The `keyPrefix` of a rate-limiter-flexible limiter, which appends
 * `:<subject>` itself: its keys are then {@link REDIS_KEYS}`.rateLimit` keys.
 */
export function rateLimitKeyPrefix(prefixes: Pick<RedisKeyPrefixes, 'keyPrefix'>, limiter: RedisRateLimiter): string {
  return `${prefixes.keyPrefix}rl:${limiter}`;
}

/** BullMQ's `prefix` option: `QUEUE_PREFIX`, under which BullMQ builds every {@link REDIS_KEYS}`.queue` key. */
export function bullmqPrefix(prefixes: Pick<RedisKeyPrefixes, 'queuePrefix'>): string {
  return prefixes.queuePrefix;
}

/**
 * The part of a key Redis Cluster hashes to pick its slot: the content of
 * the first `{...}` when it is not empty, else the whole key (cluster
 * specification, "Hash tags"). Keys with the same slot tag are in the same
 * slot; keys with different ones may or may not be.
 */
export function slotTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

/**
 * Splits items into groups whose keys share a slot tag ({@link slotTagOf}),
 * in the order each tag first appears: one multi-key command per group is
 * valid on a Redis Cluster, where a command over several slots fails with
 * `CROSSSLOT`.
 */
export function groupBySlotTag<T>(items: readonly T[], keyOf: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const tag = slotTagOf(keyOf(item));
    const group = groups.get(tag);
    if (group) group.push(item);
    else groups.set(tag, [item]);
  }
  return [...groups.values()];
}
