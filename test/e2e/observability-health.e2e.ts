import { loadConfig } from '@shortener/config';
import { CODE_SCHEMA_VERSION, OLDEST_COMPATIBLE_SCHEMA_VERSION, runMigrations } from '@shortener/database';
import { ManagementServer, ProcessLifecycle, startManagementServer } from '@shortener/observability';
import Redis from 'ioredis';
import { Client } from 'pg';
import { startTestApi, TestApi, uniqueAlias } from '../support/api-app';
import { OwnedPostgres, OwnedRedis, startOwnedPostgres, startOwnedRedis } from '../support/engines';
import { waitUntil } from '../support/wait';
import { CompiledApp, READY_TIMEOUT_MS, startCompiledApp } from '../support/compiled-app';
import { runId, workerId } from '../support/test-env';

/**
 * Probes as docs/design.md section 7 says, on a test-owned redis-server and
 * PostgreSQL cluster that the tests stop and restart.
 */

interface Probe {
  status: number;
  body: any;
}

async function get(base: string, path: string): Promise<Probe> {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  return { status: res.status, body: path === '/metrics' ? text : JSON.parse(text) };
}

/**
 * Probes until the clients have noticed the outage: the first probes after a
 * stop may still see a connection that is going away (ioredis then says the
 * stream is not writeable) before every check settles on `reconnecting`.
 * Every probe on the way must already report the checks down.
 */
async function settledOutage(probe: () => Promise<Probe>, checks: string[]): Promise<Probe> {
  let last: Probe | undefined;
  await waitUntil(
    `${checks.join(', ')} to settle down`,
    async () => {
      last = await probe();
      expect(checks.map((c) => last!.body.error[c]?.status)).toEqual(checks.map(() => 'down'));
      return checks.every((c) => last!.body.error[c].reason === 'not connected (reconnecting)');
    },
    { timeoutMs: 15_000 },
  );
  return last!;
}

const DB_NAME = 'shortener_test_owned_health';
const CODE = { codeVersion: CODE_SCHEMA_VERSION, oldestCompatible: OLDEST_COMPATIBLE_SCHEMA_VERSION };

describe('health probes (API)', () => {
  let pg: OwnedPostgres;
  let redis: OwnedRedis;
  let api: TestApi;
  let management: ManagementServer;
  let base: string;

  const createLink = async (alias: string): Promise<void> => {
    const res = await api
      .http()
      .post('/api/v1/links')
      .set('authorization', api.adminAuth)
      .send({ url: `https://example.com/${alias}`, alias });
    expect(res.status).toBe(201);
  };
  const ready = () => get(base, '/health/ready');
  const pgAlias = uniqueAlias('h-pg');
  const lruHits = async (): Promise<number> => {
    const { body } = await get(base, '/metrics');
    return Number(/^shortener_cache_requests_total\{layer="lru",result="hit"\} (\d+)$/m.exec(body)?.[1] ?? 0);
  };
  const busSubscribers = async (): Promise<number> => {
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      const [, n] = (await client.pubsub('NUMSUB', `${api.config.redis.keyPrefix}invalidation`)) as [string, number];
      return Number(n);
    } catch {
      return -1;
    } finally {
      client.disconnect();
    }
  };
  const dependencyGauge = async (dependency: string): Promise<string | undefined> => {
    const { body } = await get(base, '/metrics');
    return new RegExp(`^shortener_dependency_up\\{dependency="${dependency}"\\} (\\d+)$`, 'm').exec(body)?.[1];
  };

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startOwnedPostgres(), startOwnedRedis()]);
    const admin = new Client({ connectionString: pg.url('postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    await admin.end();
    await runMigrations(loadConfig('migrations', { DATABASE_URL: pg.url(DB_NAME), NODE_ENV: 'test' }));
    api = await startTestApi({
      DATABASE_URL: pg.url(DB_NAME),
      REDIS_CACHE_URL: redis.url,
      REDIS_QUEUE_URL: redis.url,
      // Cached links must outlive the test, whatever its pace.
      CACHE_LRU_TTL_MS: '600000',
      DATABASE_CONNECT_TIMEOUT_MS: '300',
      REDIS_COMMAND_TIMEOUT_MS: '200',
    });
    management = await startManagementServer(api.app, api.config);
    base = `http://127.0.0.1:${management.port}`;
    await createLink(pgAlias);
  }, 60_000);

  afterAll(async () => {
    await management?.close();
    await api?.close();
    await Promise.all([pg?.destroy(), redis?.stop()]);
  }, 60_000);

  it('fails startup and readiness while starting; liveness is the process only', async () => {
    expect(await get(base, '/health/startup')).toEqual({
      status: 503,
      body: {
        status: 'error',
        info: {},
        error: { process: { status: 'down', critical: true, state: 'starting', reason: 'starting' } },
        details: { process: { status: 'down', critical: true, state: 'starting', reason: 'starting' } },
      },
    });
    const notReady = await ready();
    expect({ status: notReady.status, status_field: notReady.body.status, process: notReady.body.details.process }).toEqual({
      status: 503,
      status_field: 'error',
      process: { status: 'down', critical: true, state: 'starting', reason: 'starting' },
    });
    const live = await get(base, '/health/live');
    expect({ status: live.status, body: live.body.status, process: live.body.details.process.status }).toEqual({ status: 200, body: 'ok', process: 'up' });
    expect(await dependencyGauge('postgres')).toBe('1');
    expect(/^shortener_ready 0$/m.test((await get(base, '/metrics')).body)).toBe(true);

    api.app.get(ProcessLifecycle).markReady();
    expect((await get(base, '/health/startup')).status).toBe(200);
  });

  it('is ready with every dependency up and the schema in range', async () => {
    const res = await ready();
    expect(res).toEqual({
      status: 200,
      body: {
        status: 'ok',
        info: res.body.details,
        error: {},
        details: {
          process: { status: 'up', critical: true, state: 'ready' },
          schema: { status: 'up', critical: true, version: CODE_SCHEMA_VERSION, minCodeVersion: expect.any(Number), ...CODE },
          postgres: { status: 'up', critical: false, latencyMs: expect.any(Number) },
          redis_cache: { status: 'up', critical: false, latencyMs: expect.any(Number) },
          redis_queue: { status: 'up', critical: false, latencyMs: expect.any(Number) },
        },
      },
    });
    expect(/^shortener_ready 1$/m.test((await get(base, '/metrics')).body)).toBe(true);
  });

  it('stays ready while Redis is down, reports it, and keeps serving redirects', async () => {
    const cached = uniqueAlias('h-cached');
    const uncached = uniqueAlias('h-uncached');
    await createLink(cached);
    await createLink(uncached);
    expect((await api.http().get(`/${cached}`)).status).toBe(302);

    await redis.stop();
    try {
      await expectServedWhileRedisDown(cached, uncached);
    } finally {
      await redis.start();
    }
    await waitUntil('readiness to report Redis up again', async () => (await ready()).body.status === 'ok', { timeoutMs: 15_000 });
    expect(await dependencyGauge('redis_cache')).toBe('1');
  }, 30_000);

  const expectServedWhileRedisDown = async (cached: string, uncached: string): Promise<void> => {
    const res = await settledOutage(ready, ['redis_cache', 'redis_queue']);
    expect({ status: res.status, body: res.body.status, error: res.body.error }).toEqual({
      status: 200,
      body: 'degraded',
      error: {
        redis_cache: { status: 'down', critical: false, reason: 'not connected (reconnecting)' },
        redis_queue: { status: 'down', critical: false, reason: 'not connected (reconnecting)' },
      },
    });
    expect(await dependencyGauge('redis_cache')).toBe('0');
    // From the LRU, then through PostgreSQL for a link the LRU never saw.
    const fromLru = await api.http().get(`/${cached}`);
    const fromDb = await api.http().get(`/${uncached}`);
    expect([fromLru.status, fromLru.headers.location, fromDb.status, fromDb.headers.location]).toEqual([
      302,
      `https://example.com/${cached}`,
      302,
      `https://example.com/${uncached}`,
    ]);
    expect((await get(base, '/health/live')).status).toBe(200);
  };

  it('stays ready while PostgreSQL is down, reports it, and keeps serving cached redirects', async () => {
    // A link created well before (its own invalidation echo long delivered),
    // in the LRU once the bus is back (its reconnect clears the LRU) and a
    // redirect was answered from there.
    await waitUntil('the invalidation bus to resubscribe', async () => (await busSubscribers()) === 1, { timeoutMs: 15_000 });
    await waitUntil(
      'a redirect answered by the LRU',
      async () => {
        const before = await lruHits();
        expect((await api.http().get(`/${pgAlias}`)).status).toBe(302);
        return (await lruHits()) > before;
      },
      { timeoutMs: 15_000 },
    );

    await pg.stop();
    try {
      await expectServedWhilePostgresDown();
    } finally {
      await pg.start();
    }
    await waitUntil('readiness to report PostgreSQL up again', async () => (await ready()).body.status === 'ok', { timeoutMs: 15_000 });
  }, 60_000);

  const expectServedWhilePostgresDown = async (): Promise<void> => {
    const res = await ready();
    expect({ status: res.status, body: res.body.status, postgres: res.body.error.postgres?.status, schema: res.body.details.schema }).toEqual({
      status: 200,
      body: 'degraded',
      postgres: 'down',
      schema: {
        status: 'up',
        critical: true,
        stale: true,
        reason: expect.stringMatching(/^could not read the schema version: /),
        version: CODE_SCHEMA_VERSION,
        minCodeVersion: expect.any(Number),
        ...CODE,
      },
    });
    expect(await dependencyGauge('postgres')).toBe('0');
    const redirect = await api.http().get(`/${pgAlias}`);
    expect([redirect.status, redirect.headers.location]).toEqual([302, `https://example.com/${pgAlias}`]);
  };

  it('fails readiness when the schema is outside the code compatible range', async () => {
    const db = new Client({ connectionString: pg.url(DB_NAME) });
    await db.connect();
    const { rows } = await db.query('SELECT version, min_code_version FROM schema_compatibility');
    const next = CODE_SCHEMA_VERSION + 1;
    const tooOldVersion = OLDEST_COMPATIBLE_SCHEMA_VERSION - 1;
    try {
      // A release ahead of this code whose contract step dropped what this code needs.
      await db.query('UPDATE schema_compatibility SET version = $1, min_code_version = $1', [next]);
      const tooNew = await ready();
      expect({ status: tooNew.status, body: tooNew.body.status, schema: tooNew.body.error.schema }).toEqual({
        status: 503,
        body: 'error',
        schema: {
          status: 'down',
          critical: true,
          reason: `schema version ${next} needs code of schema version ${next} or newer; this code knows ${CODE_SCHEMA_VERSION}`,
          version: next,
          minCodeVersion: next,
          ...CODE,
        },
      });
      expect(/^shortener_ready 0$/m.test((await get(base, '/metrics')).body)).toBe(true);

      await db.query('UPDATE schema_compatibility SET version = $1, min_code_version = $1', [tooOldVersion]);
      const tooOld = await ready();
      expect([tooOld.status, tooOld.body.error.schema.reason]).toEqual([
        503,
        `schema version ${tooOldVersion} is older than ${OLDEST_COMPATIBLE_SCHEMA_VERSION}, the oldest this code supports: run the migrations`,
      ]);
    } finally {
      await db.query('UPDATE schema_compatibility SET version = $1, min_code_version = $2', [rows[0].version, rows[0].min_code_version]);
      await db.end();
    }
    expect((await ready()).status).toBe(200);
    expect(/^shortener_ready 1$/m.test((await get(base, '/metrics')).body)).toBe(true);
  });

  it('fails readiness only once draining starts; liveness and startup still pass', async () => {
    api.app.get(ProcessLifecycle).markDraining();
    const res = await ready();
    expect([res.status, res.body.details.process]).toEqual([503, { status: 'down', critical: true, state: 'draining', reason: 'draining' }]);
    expect([(await get(base, '/health/live')).status, (await get(base, '/health/startup')).status]).toEqual([200, 200]);
    expect(/^shortener_ready 0$/m.test((await get(base, '/metrics')).body)).toBe(true);
  });
});

describe('health probes (compiled worker)', () => {
  const SHUTDOWN_TIMEOUT_MS = 3_000;
  let redis: OwnedRedis;
  let worker: CompiledApp;
  let base: string;

  beforeAll(async () => {
    redis = await startOwnedRedis();
    // The real worker process, its queues and caches on the test-owned Redis.
    worker = await startCompiledApp('worker', {
      REDIS_CACHE_URL: redis.url,
      REDIS_QUEUE_URL: redis.url,
      REDIS_COMMAND_TIMEOUT_MS: '200',
      QUEUE_PREFIX: `{test-${runId()}-w${workerId()}-health}`,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: 'info',
    });
    base = worker.managementUrl;
  }, 2 * READY_TIMEOUT_MS);

  afterAll(async () => {
    await worker?.stop();
    await redis?.stop();
  }, 30_000);

  it('requires the queue Redis: not ready while it is down, ready again after it restarts', async () => {
    const up = await get(base, '/health/ready');
    expect([up.status, up.body.status, up.body.details.redis_queue.critical]).toEqual([200, 'ok', true]);

    await redis.stop();
    try {
      const down = await settledOutage(() => get(base, '/health/ready'), ['redis_queue']);
      expect([down.status, down.body.status, down.body.error.redis_queue]).toEqual([
        503,
        'error',
        { status: 'down', critical: true, reason: 'not connected (reconnecting)' },
      ]);
      expect((await get(base, '/health/live')).status).toBe(200);
    } finally {
      await redis.start();
    }
    await waitUntil('worker readiness after the Redis restart', async () => (await get(base, '/health/ready')).status === 200, { timeoutMs: 15_000 });
  }, 30_000);

  it('is not ready while the queue Redis answers PING but refuses writes (out of memory), naming its error', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      // Below what an empty server uses: every write is refused.
      await admin.config('SET', 'maxmemory', '1');
      let down: Probe | undefined;
      await waitUntil(
        'the out-of-memory queue Redis to show',
        async () => {
          down = await get(base, '/health/ready');
          return down.status === 503;
        },
        { timeoutMs: 15_000 },
      );
      expect([down!.body.status, down!.body.error.redis_queue.status, down!.body.error.redis_queue.critical]).toEqual(['error', 'down', true]);
      expect(down!.body.error.redis_queue.reason).toMatch(/^OOM command not allowed when used memory > 'maxmemory'/);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/^shortener_dependency_up\{dependency="redis_queue"\} 0$/m);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      admin.disconnect();
    }
    await waitUntil('worker readiness once Redis takes writes', async () => (await get(base, '/health/ready')).status === 200, { timeoutMs: 15_000 });
  }, 30_000);

  it('ends within SHUTDOWN_TIMEOUT_MS of SIGTERM, readiness failing first', async () => {
    const started = Date.now();
    worker.child.kill('SIGTERM');
    await waitUntil('readiness to fail after SIGTERM', async () => (await fetch(`${base}/health/ready`).catch(() => null))?.status !== 200, {
      timeoutMs: 15_000,
    });
    await worker.exited;
    expect(Date.now() - started).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 2_000);
    // Either clean, or forced out at the deadline (BullMQ workers that cannot close in time).
    const messages = worker
      .logLines()
      .map((l) => String(l.msg))
      .filter((m) => m.startsWith('shutdown'));
    expect(messages[0]).toBe('shutdown started: readiness fails from now on');
    expect(['shutdown complete', 'shutdown timed out: forcing exit']).toContain(messages[1]);
  }, 30_000);
});
