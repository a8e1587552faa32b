import { loadConfig } from '@shortener/config';
import { QUEUES } from '@shortener/queue';
import {
  bullmqPrefix,
  groupBySlotTag,
  rateLimitKeyPrefix,
  REDIS_KEY_FAMILIES,
  REDIS_KEYS,
  RedisKeyFamilyName,
  RedisKeyPrefixes,
  slotTagOf,
} from '@shortener/redis';
import { QueueKeys } from 'bullmq';
import calculateSlot from 'cluster-key-slot';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { RateLimiterMemory } from 'rate-limiter-flexible';

const defaults = loadConfig('api', {}).redis;
const custom: RedisKeyPrefixes = { keyPrefix: 'tenant-a:cache:', queuePrefix: '{tenant-a-queue}' };

/** Sample parts of every family's keys: several per family, some of them alike across families. */
const SAMPLES: { [F in RedisKeyFamilyName]: Parameters<(typeof REDIS_KEYS)[F]['key']> extends [unknown, ...infer P] ? P[] : never } = {
  link: [
    ['short.example', 'abc'],
    ['go.example', 'abc'],
    ['short.example', 'health'],
    ['short.example', 'invalidation'],
  ],
  linkInvalidated: [
    ['short.example', 'abc'],
    ['go.example', 'abc'],
  ],
  rateLimit: [
    ['api-key', '0b7f3c1e-3c1a-4f57-9a52-6f1f7a7e0c11'],
    ['client', '203.0.113.7'],
    ['client', '2001:db8:1:2::/64'],
    ['auth-failure', '203.0.113.7'],
  ],
  hllScratch: [['5d0f6f8e-1111-4222-8333-944455556666'], ['5d0f6f8e-1111-4222-8333-944455556666', 0], ['5d0f6f8e-1111-4222-8333-944455556666', 1]],
  invalidationChannel: [[]],
  queue: [
    [QUEUES.clicks, 'wait'],
    [QUEUES.clicks, 'active'],
    [QUEUES.maintenance, 'wait'],
  ],
  queuedClicks: [[QUEUES.clicks], [QUEUES.maintenance]],
  queueHealth: [[]],
};

/** Every sample key of every family under `prefixes`, with its family. */
function sampleKeys(prefixes: RedisKeyPrefixes): { family: RedisKeyFamilyName; key: string }[] {
  return (Object.keys(SAMPLES) as RedisKeyFamilyName[]).flatMap((family) =>
    (SAMPLES[family] as unknown[][]).map((parts) => ({
      family,
      key: (REDIS_KEYS[family].key as (p: RedisKeyPrefixes, ...a: unknown[]) => string)(prefixes, ...parts),
    })),
  );
}

describe('Redis key registry', () => {
  it('has samples of every family, and every family declares its shape and hash tag', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(REDIS_KEYS).sort());
    for (const family of REDIS_KEY_FAMILIES) {
      expect(family.shape.startsWith(family.server === 'cache' ? '<REDIS_KEY_PREFIX>' : '<QUEUE_PREFIX>')).toBe(true);
      expect(family.purpose.length).toBeGreaterThan(20);
      if (family.hashTag !== null) expect(family.hashTag).toMatch(/^\{.+\}$/);
    }
  });

  it.each([
    ['the default prefixes', defaults],
    ['other prefixes', custom],
  ])("starts every family's keys with its server's configured prefix (%s)", (_, prefixes) => {
    for (const { family, key } of sampleKeys(prefixes)) {
      expect([family, key.startsWith(REDIS_KEYS[family].server === 'cache' ? prefixes.keyPrefix : prefixes.queuePrefix)]).toEqual([family, true]);
    }
  });

  it('builds the keys the product has always written (a rolling upgrade finds and clears the same keys)', () => {
    expect(defaults).toMatchObject({ keyPrefix: 'shortener:', queuePrefix: '{shortener}' });
    expect(REDIS_KEYS.link.key(defaults, 'short.example', 'abc')).toBe('shortener:link:{short.example/abc}');
    expect(REDIS_KEYS.linkInvalidated.key(defaults, 'short.example', 'abc')).toBe('shortener:link-inv:{short.example/abc}');
    expect(REDIS_KEYS.rateLimit.key(defaults, 'client', '203.0.113.7')).toBe('shortener:rl:client:203.0.113.7');
    expect(REDIS_KEYS.hllScratch.key(defaults, 'id')).toBe('shortener:hll-tmp:{id}');
    expect(REDIS_KEYS.hllScratch.key(defaults, 'id', 3)).toBe('shortener:hll-tmp:{id}:3');
    expect(REDIS_KEYS.invalidationChannel.key(defaults)).toBe('shortener:invalidation');
    expect(REDIS_KEYS.queuedClicks.key(defaults, 'clicks')).toBe('{shortener}:clicks:queued-clicks');
    expect(REDIS_KEYS.queueHealth.key(defaults)).toBe('{shortener}:health');
  });

  it("builds rate-limiter-flexible's keys and BullMQ's keys as those libraries do", () => {
    for (const limiter of ['api-key', 'client', 'auth-failure'] as const) {
      const library = new RateLimiterMemory({ keyPrefix: rateLimitKeyPrefix(custom, limiter), points: 1, duration: 60 });
      expect(library.getKey('203.0.113.7')).toBe(REDIS_KEYS.rateLimit.key(custom, limiter, '203.0.113.7'));
    }
    const bullmq = new QueueKeys(bullmqPrefix(custom)).getKeys(QUEUES.clicks);
    for (const suffix of ['wait', 'active', 'delayed', 'prioritized', 'id', 'meta', 'events']) {
      expect(bullmq[suffix]).toBe(REDIS_KEYS.queue.key(custom, QUEUES.clicks, suffix));
    }
  });

  it('puts the keys one command or script touches together in one slot', () => {
    // A link's value and invalidation marker (the invalidate and fill scripts).
    for (const [domain, code] of SAMPLES.link) {
      const keys = [REDIS_KEYS.link.key(defaults, domain, code), REDIS_KEYS.linkInvalidated.key(defaults, domain, code)];
      expect(calculateSlot.generateMulti(keys)).toBe(calculateSlot(`${domain}/${code}`));
    }
    // One union's HLL scratch keys (the union-count script), and the merge-add scratch key.
    const union = Array.from({ length: 50 }, (_, i) => REDIS_KEYS.hllScratch.key(defaults, 'one-union', i));
    expect(calculateSlot.generateMulti([...union, REDIS_KEYS.hllScratch.key(defaults, 'one-union')])).not.toBe(-1);
    // A queue's BullMQ keys and its click counter (the reconcile script), under either prefix.
    for (const prefixes of [defaults, custom]) {
      const keys = new QueueKeys(bullmqPrefix(prefixes)).getKeys(QUEUES.clicks);
      const script = [keys.wait, keys.active, keys.delayed, keys.prioritized, REDIS_KEYS.queuedClicks.key(prefixes, QUEUES.clicks)];
      expect(calculateSlot.generateMulti(script)).toBe(calculateSlot(slotTagOf(prefixes.queuePrefix)));
    }
  });

  it('spreads the links over slots: each link has a hash tag of its own', () => {
    const codes = Array.from({ length: 200 }, (_, i) => `code${i}`);
    const slots = new Set(codes.map((code) => calculateSlot(REDIS_KEYS.link.key(defaults, 'short.example', code))));
    expect(slots.size).toBeGreaterThan(190);
  });

  it.each([
    ['the default prefixes', defaults],
    ['other prefixes', custom],
    ['one prefix for both servers', { keyPrefix: 'same:', queuePrefix: 'same:' }],
  ])('never builds one key for two families, nor two keys for two samples (%s)', (_, prefixes) => {
    const keys = sampleKeys(prefixes);
    const owner = new Map<string, RedisKeyFamilyName>();
    for (const { family, key } of keys) {
      expect([key, owner.get(key)]).toEqual([key, undefined]);
      owner.set(key, family);
    }
  });

  it('gives no queue a name that the other queue-Redis keys use', () => {
    for (const name of Object.values(QUEUES)) {
      expect(name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(name).not.toBe('health');
    }
  });

  it('keeps the hash tag out of REDIS_KEY_PREFIX and in QUEUE_PREFIX by default', () => {
    // A tag in REDIS_KEY_PREFIX would put every cache key in one slot; BullMQ on a Cluster needs one in its prefix.
    expect(slotTagOf(`${defaults.keyPrefix}x`)).toBe(`${defaults.keyPrefix}x`);
    expect(slotTagOf(`${defaults.queuePrefix}:x`)).toBe('shortener');
  });

  it.each([
    ['{user1000}.following', 'user1000'],
    ['foo{}{bar}', 'foo{}{bar}'],
    ['foo{{bar}}zap', '{bar'],
    ['foo{bar}{zap}', 'bar'],
    ['no-tag', 'no-tag'],
    ['open{only', 'open{only'],
  ])('finds the hash tag of %s as the cluster specification does', (key, tag) => {
    expect(slotTagOf(key)).toBe(tag);
    expect(calculateSlot(tag)).toBe(calculateSlot(key));
  });

  it('groups keys by hash tag, in order of first appearance, each group in one slot', () => {
    const keys = ['a{x}1', 'b{y}', 'c{x}2', 'plain', 'd{y}'];
    const groups = groupBySlotTag(keys, (k) => k);
    expect(groups).toEqual([['a{x}1', 'c{x}2'], ['b{y}', 'd{y}'], ['plain']]);
    for (const group of groups) expect(calculateSlot.generateMulti(group)).not.toBe(-1);
  });

  it('is the only place that builds keys from the configured prefixes', () => {
    const root = join(__dirname, '..', '..');
    const registry = 'libs/redis/src/redis-keys.ts';
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
          const file = relative(root, path);
          if (file !== registry && /\bredis\.(keyPrefix|queuePrefix)\b/.test(readFileSync(path, 'utf8'))) offenders.push(file);
        }
      }
    };
    walk(join(root, 'libs'));
    walk(join(root, 'apps'));
    // The configuration defines the prefixes; every other file goes through the registry.
    expect(offenders.filter((f) => !f.startsWith('libs/config/'))).toEqual([]);
  });
});
