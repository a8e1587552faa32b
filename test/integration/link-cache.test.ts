import { AppConfig, loadConfig } from '@shortener/config';
import { PgPools } from '@shortener/database';
import { LinkCacheService, LinkRepository } from '@shortener/links';
import { MetricsService } from '@shortener/observability';
import { InvalidationBus, createCacheRedis } from '@shortener/redis';
import calculateSlot from 'cluster-key-slot';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { testEnv } from '../support/test-env';

/** Real PostgreSQL pool wrapped to count the queries the cache sends (the pool itself is untouched). */
function countingPools(pool: Pool): { pools: PgPools; count: () => number } {
  let queries = 0;
  const counted = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') return (...args: unknown[]) => ((queries += 1), (target.query as (...a: unknown[]) => unknown)(...args));
      return Reflect.get(target, prop, receiver);
    },
  });
  const pools = Object.create(PgPools.prototype) as PgPools;
  Object.defineProperty(pools, 'read', { get: () => counted });
  Object.defineProperty(pools, 'write', { get: () => counted });
  return { pools, count: () => queries };
}

/** The links repository over `pools`: the cache reads its snapshots through it (those reads use the pools alone, not the DataSource). */
function repositoryOver(pools: PgPools): LinkRepository {
  return new LinkRepository(Object.create(DataSource.prototype) as DataSource, pools);
}

/** `name/argument count` of each command in a RESP write, in order (e.g. `mget/7`). */
function commandsOf(write: string): string[] {
  return [...write.matchAll(/^\*(\d+)\r\n\$\d+\r\n(\w+)\r\n/gm)].map((m) => `${m[2].toLowerCase()}/${m[1]}`);
}

/** Each command in a RESP write stream, as its name and arguments. */
function parseCommands(writes: string[]): string[][] {
  const buf = Buffer.from(writes.join(''));
  const commands: string[][] = [];
  let at = 0;
  const line = (): string => {
    const end = buf.indexOf('\r\n', at);
    const text = buf.toString('latin1', at, end);
    at = end + 2;
    return text;
  };
  while (at < buf.length) {
    const count = Number(line().slice(1));
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = Number(line().slice(1));
      args.push(buf.toString('utf8', at, at + length));
      at += length + 2;
    }
    commands.push(args);
  }
  return commands;
}

/** A ready cache client whose socket writes are recorded as they leave (strings, in order). */
async function recordedClient(config: AppConfig): Promise<{ client: Redis; writes: string[] }> {
  const client = createCacheRedis(config);
  await new Promise((r) => client.once('ready', r));
  const socket = (client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
  const write = socket.write;
  const writes: string[] = [];
  socket.write = function (this: unknown, ...args: unknown[]) {
    writes.push(String(args[0]));
    return write.apply(this, args);
  };
  return { client, writes };
}

describe(LinkCacheService.name, () => {
  const config = loadConfig('api', testEnv({ REDIS_KEY_PREFIX: `test:${process.env.TEST_RUN_ID}:cache:${Date.now()}:` }));
  let pool: Pool;
  let redis: Redis;
  let bus: InvalidationBus;
  let accountId: string;

  beforeAll(async () => {
    pool = new Pool({ connectionString: config.db.url, max: 4 });
    redis = createCacheRedis(config);
    await new Promise((r) => redis.once('ready', r));
    bus = new InvalidationBus(config, redis);
    bus.onModuleInit();
    const { rows } = await pool.query(`INSERT INTO accounts (name) VALUES ('cache test') RETURNING id`);
    accountId = rows[0].id;
  });
  afterAll(async () => {
    await bus.onModuleDestroy();
    redis.disconnect();
    await pool.end();
  });

  let n = 0;
  async function insertLink(target: string): Promise<string> {
    n += 1;
    const code = `cache-${Date.now().toString(36)}-${n}`;
    await pool.query(`INSERT INTO links (domain, code, account_id, target, is_alias) VALUES ('short.example', $1, $2, $3, true)`, [code, accountId, target]);
    return code;
  }

  function newCache(pools: PgPools, overrides: Partial<typeof config.cache> = {}, client: Redis = redis) {
    const sut = new LinkCacheService({ ...config, cache: { ...config.cache, ...overrides } }, client, bus, repositoryOver(pools), new MetricsService());
    sut.onModuleInit();
    return sut;
  }

  it('coalesces concurrent misses for one code into one PostgreSQL query', async () => {
    const code = await insertLink('https://example.com/coalesce');
    const { pools, count } = countingPools(pool);
    const sut = newCache(pools);
    const results = await Promise.all(Array.from({ length: 50 }, () => Promise.resolve(sut.get('short.example', code))));
    expect(new Set(results.map((r) => r.snapshot?.target))).toEqual(new Set(['https://example.com/coalesce']));
    expect(count()).toBe(1);
  });

  it('answers the misses of one event-loop turn with one PostgreSQL query, each with its own link or none', async () => {
    const codes = await Promise.all(Array.from({ length: 40 }, (_, i) => insertLink(`https://example.com/batch/${i}`)));
    const unknown = `batch-unknown-${Date.now().toString(36)}`;
    const { pools, count } = countingPools(pool);
    const sut = newCache(pools);
    const results = await Promise.all([...codes, unknown].map((code) => Promise.resolve(sut.get('short.example', code))));
    expect(results.map((r) => r.snapshot?.target ?? null)).toEqual([...codes.map((_, i) => `https://example.com/batch/${i}`), null]);
    expect(results.map((r) => r.layer)).toEqual(Array(41).fill('db'));
    expect(count()).toBe(1);
    // The batch filled Redis: another process finds every one there.
    const other = newCache(pools);
    const again = await Promise.all([...codes, unknown].map((code) => Promise.resolve(other.get('short.example', code))));
    expect(again.map((r) => r.layer)).toEqual(Array(41).fill('redis'));
    expect(count()).toBe(1);
  });

  it('sends the misses of one turn to Redis as one MGET and their fills as one script call', async () => {
    const codes = await Promise.all(Array.from({ length: 5 }, (_, i) => insertLink(`https://example.com/one-command/${i}`)));
    const unknown = `one-command-unknown-${Date.now().toString(36)}`;
    const { client, writes } = await recordedClient(config);
    const { pools } = countingPools(pool);
    const sut = new LinkCacheService(config, client, bus, repositoryOver(pools), new MetricsService());
    try {
      const results = await Promise.all([...codes, unknown].map((code) => Promise.resolve(sut.get('short.example', code))));
      expect(results.map((r) => r.layer)).toEqual(Array(6).fill('db'));
    } finally {
      client.disconnect();
    }
    // MGET with 6 keys; EVAL with script, key count, 12 keys (value and marker of each) and 12 arguments (value and TTL).
    expect(writes.flatMap(commandsOf)).toEqual(['mget/7', 'eval/27']);
    const again = await Promise.all([...codes, unknown].map((code) => Promise.resolve(newCache(pools).get('short.example', code))));
    expect(again.map((r) => [r.layer, r.snapshot?.target ?? null])).toEqual([
      ...codes.map((_, i) => ['redis', `https://example.com/one-command/${i}`]),
      ['redis', null],
    ]);
  });

  it('on a Cluster client, sends the MGET and the fill once per hash tag, every command within one slot', async () => {
    const codes = await Promise.all(Array.from({ length: 3 }, (_, i) => insertLink(`https://example.com/per-slot/${i}`)));
    const unknown = `per-slot-unknown-${Date.now().toString(36)}`;
    const { client, writes } = await recordedClient(config);
    // The one node answers what a Cluster client would route slot by slot.
    Object.defineProperty(client, 'isCluster', { value: true });
    const { pools } = countingPools(pool);
    const sut = new LinkCacheService(config, client, bus, repositoryOver(pools), new MetricsService());
    try {
      const results = await Promise.all([...codes, unknown].map((code) => Promise.resolve(sut.get('short.example', code))));
      expect(results.map((r) => [r.layer, r.snapshot?.target ?? null])).toEqual([
        ...codes.map((_, i) => ['db', `https://example.com/per-slot/${i}`]),
        ['db', null],
      ]);
      // The fills are not awaited: wait for their answers.
      await client.ping();
    } finally {
      client.disconnect();
    }
    const commands = parseCommands(writes);
    const keysOf = ([name, ...args]: string[]) => (name.toLowerCase() === 'mget' ? args : args.slice(2, 2 + Number(args[1])));
    // One MGET of one key per link, then one fill of its value and marker keys per link.
    expect(commands.map((c) => `${c[0].toLowerCase().replace('evalsha', 'eval')}/${keysOf(c).length}`)).toEqual([
      ...Array(4).fill('mget/1'),
      ...Array(4).fill('eval/2'),
      'ping/0',
    ]);
    for (const command of commands.slice(0, 8)) expect(calculateSlot.generateMulti(keysOf(command))).not.toBe(-1);
    const again = await Promise.all([...codes, unknown].map((code) => Promise.resolve(newCache(pools).get('short.example', code))));
    expect(again.map((r) => [r.layer, r.snapshot?.target ?? null])).toEqual([
      ...codes.map((_, i) => ['redis', `https://example.com/per-slot/${i}`]),
      ['redis', null],
    ]);
  });

  it('fails every miss of a batch when PostgreSQL fails, and serves them once it answers again', async () => {
    const code = await insertLink('https://example.com/pg-fails');
    const broken = Object.create(PgPools.prototype) as PgPools;
    const failing = { query: () => Promise.reject(new Error('connection refused')) };
    Object.defineProperty(broken, 'read', { get: () => failing });
    const sut = newCache(broken);
    const outcomes = await Promise.allSettled([sut.get('short.example', code), sut.get('short.example', `${code}-other`)]);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : 'fulfilled'))).toEqual(['connection refused', 'connection refused']);
    const { pools } = countingPools(pool);
    expect((await newCache(pools).get('short.example', code)).snapshot?.target).toBe('https://example.com/pg-fails');
  });

  it('answers a cached link from the LRU without I/O, synchronously', async () => {
    const code = await insertLink('https://example.com/lru');
    const { pools, count } = countingPools(pool);
    const sut = newCache(pools);
    await sut.get('short.example', code);
    const hit = sut.get('short.example', code);
    expect('then' in hit).toBe(false);
    expect((hit as { layer: string }).layer).toBe('lru');
    expect(count()).toBe(1);
  });

  it('caches unknown codes negatively in Redis and the LRU', async () => {
    const { pools, count } = countingPools(pool);
    const first = newCache(pools);
    expect(await first.get('short.example', 'never-created-code')).toEqual({ snapshot: null, layer: 'db' });
    const second = newCache(pools);
    expect(await second.get('short.example', 'never-created-code')).toEqual({ snapshot: null, layer: 'redis' });
    expect(await second.get('short.example', 'never-created-code')).toEqual({ snapshot: null, layer: 'lru' });
    expect(count()).toBe(1);
  });

  it('falls through to PostgreSQL when the cache Redis is unreachable, without waiting for it', async () => {
    const code = await insertLink('https://example.com/no-redis');
    const down = createCacheRedis(loadConfig('api', testEnv({ REDIS_CACHE_URL: 'redis://127.0.0.1:1/0', REDIS_COMMAND_TIMEOUT_MS: '200' })));
    down.on('error', () => undefined);
    const { pools } = countingPools(pool);
    const sut = newCache(pools, {}, down);
    const started = Date.now();
    const result = await sut.get('short.example', code);
    expect(result.snapshot?.target).toBe('https://example.com/no-redis');
    expect(Date.now() - started).toBeLessThan(1_000);
    down.disconnect();
  });

  it('never caches a row read before an invalidation that came after it', async () => {
    const code = await insertLink('https://example.com/before');
    const { pools } = countingPools(pool);
    const sut = newCache(pools, {}, redis);
    const pending = sut.get('short.example', code) as Promise<unknown>;
    // The write commits and invalidates while the first read is in flight.
    await pool.query(`UPDATE links SET target = 'https://example.com/after' WHERE code = $1`, [code]);
    await sut.invalidate('short.example', code);
    await pending;
    expect((await sut.get('short.example', code)).snapshot?.target).toBe('https://example.com/after');
    const other = newCache(pools);
    expect((await other.get('short.example', code)).snapshot?.target).toBe('https://example.com/after');
  });

  it('invalidates in one round trip: the Redis script, then the bus message, both written before either answers', async () => {
    const { client, writes } = await recordedClient(config);
    const ownBus = new InvalidationBus(config, client);
    const { pools } = countingPools(pool);
    const sut = new LinkCacheService(config, client, ownBus, repositoryOver(pools), new MetricsService());
    let writtenBeforeAnyReply: string[] = [];
    try {
      const done = sut.invalidate('short.example', 'one-write');
      // Synchronously after the call: nothing has been answered yet.
      writtenBeforeAnyReply = [...writes];
      await done;
    } finally {
      client.disconnect();
    }
    // EVAL with script, key count, 2 keys and the marker TTL; PUBLISH with channel and message.
    expect(writtenBeforeAnyReply.flatMap(commandsOf)).toEqual(['eval/6', 'publish/3']);
    expect(writes).toEqual(writtenBeforeAnyReply);
  });

  it('drops a link from another process-local cache through the bus', async () => {
    const code = await insertLink('https://example.com/v1');
    const { pools } = countingPools(pool);
    const a = newCache(pools);
    const b = newCache(pools);
    await a.get('short.example', code);
    await b.get('short.example', code);
    await pool.query(`UPDATE links SET target = 'https://example.com/v2' WHERE code = $1`, [code]);
    await a.invalidate('short.example', code);
    expect((await b.get('short.example', code)).snapshot?.target).toBe('https://example.com/v2');
  });
});
