import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@shortener/config';
import { DatabaseConnectionModule, DatabaseConnector } from '@shortener/database';
import { HEALTH_CHECK_TIMEOUT_MS, HealthModule, HealthService, ProcessLifecycle } from '@shortener/observability';
import { CACHE_REDIS, createCacheRedis, InvalidationBus } from '@shortener/redis';
import Redis from 'ioredis';
import { SilentPeer, startSilentPeer } from '../support/silent-peer';
import { testConfig } from '../support/test-env';

/**
 * Health checks never hang (a probe that waits is a probe that fails): a Redis that accepts connections but
 * never answers is reported down with a timeout reason within the bound, on
 * the real PostgreSQL. Never reached since the boot, it fails readiness.
 */
describe(HealthService.name, () => {
  let blackHole: SilentPeer;
  let app: INestApplicationContext;
  let sut: HealthService;
  let cache: Redis;

  beforeAll(async () => {
    blackHole = await startSilentPeer();
    const port = blackHole.port;
    const config = testConfig('api', {
      REDIS_CACHE_URL: `redis://127.0.0.1:${port}/0`,
      REDIS_QUEUE_URL: `redis://127.0.0.1:${port}/0`,
      REDIS_COMMAND_TIMEOUT_MS: '5000',
    });
    cache = createCacheRedis(config);
    cache.on('error', () => undefined);
    // The cache client alone (the invalidation bus would wait for its SUBSCRIBE forever).
    const moduleRef = await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), DatabaseConnectionModule.forRoot(), HealthModule] })
      .overrideProvider(CACHE_REDIS)
      .useValue(cache)
      .overrideProvider(InvalidationBus)
      .useValue(null)
      .compile();
    moduleRef.useLogger(false);
    app = moduleRef;
    await app.init();
    await app.get(DatabaseConnector).ready();
    app.get(ProcessLifecycle).markReady();
    sut = app.get(HealthService);
  });

  afterAll(async () => {
    await app?.close();
    cache?.disconnect();
    await blackHole?.close();
  });

  it('reports a silent Redis down after the check timeout, failing the API readiness as it was never reached', async () => {
    const started = Date.now();
    const result = await sut.ready();
    const elapsed = Date.now() - started;
    expect({ httpStatus: result.httpStatus, status: result.body.status, error: result.body.error, postgres: result.body.details.postgres.status }).toEqual({
      httpStatus: 503,
      status: 'error',
      error: {
        redis_cache: { status: 'down', critical: true, reached: false, reason: `redis_cache timed out after ${HEALTH_CHECK_TIMEOUT_MS} ms` },
        redis_queue: { status: 'down', critical: true, reached: false, reason: `redis_queue timed out after ${HEALTH_CHECK_TIMEOUT_MS} ms` },
      },
      postgres: 'up',
    });
    // Checks run in parallel, each bounded: one timeout, not two, plus a little.
    expect(elapsed).toBeLessThan(HEALTH_CHECK_TIMEOUT_MS * 2);
  });
});
