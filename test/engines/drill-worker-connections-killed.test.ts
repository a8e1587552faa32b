import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { committedClicks, createDrillLink, metricSum, scrape, startRedirectLoad } from '../support/drill';
import { MigratedPostgres, OwnedRedis, startMigratedPostgres, startOwnedRedis } from '../support/engines';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { testEnv } from '../support/test-env';
import { waitUntil } from '../support/wait';

jest.setTimeout(120_000);

/**
 * Drill: PostgreSQL ends the worker's connections again and again while it
 * commits click batches (a restart, a failover, an operator's
 * pg_terminate_backend: SQLSTATE 57P01). The worker stays up, the batches
 * whose commit was cut are retried, and every served redirect is committed
 * exactly once.
 */
describe("drill: the worker's PostgreSQL connections ended mid-commit", () => {
  const REDIRECTS = 4_000;
  let pg: MigratedPostgres;
  let redis: OwnedRedis;
  let api: CompiledApp;
  let worker: CompiledApp;
  let db: Client;
  let queue: Queue;
  let queueRedis: Redis;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startMigratedPostgres(), startOwnedRedis()]);
    const env = { DATABASE_URL: pg.url, REDIS_CACHE_URL: redis.url, REDIS_QUEUE_URL: redis.url };
    [api, worker] = await Promise.all([startCompiledApp('api', env), startCompiledApp('worker', { ...env, CLICK_COMMIT_INTERVAL_MS: '0' })]);
    db = new Client({ connectionString: pg.url });
    await db.connect();
    queueRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('clicks', { connection: queueRedis, prefix: testEnv().QUEUE_PREFIX });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    queueRedis?.disconnect();
    await db?.end();
    await Promise.all([worker?.stop(), api?.stop()]);
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  it('keeps the worker up and commits every served redirect exactly once', async () => {
    const link = await createDrillLink(api.url, 'https://example.com/drill/worker-connections-killed', db);
    const load = startRedirectLoad(api.url, [`/${link.code}`], { total: REDIRECTS, concurrency: 4 });
    let ended = 0;
    let loading = true;
    const killer = (async () => {
      while (loading) {
        const { rows } = await db.query(
          `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'shortener-worker'`,
        );
        ended += Number(rows[0].n);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const tally = await load.done;
    loading = false;
    await killer;
    expect(tally).toMatchObject({ sent: REDIRECTS, statuses: { 302: REDIRECTS }, failed: 0 });
    expect(ended).toBeGreaterThan(0);
    expect(worker.child.exitCode).toBeNull();

    await waitForQueueIdle(queue, { timeoutMs: 60_000 });
    // The API publishes its last part-filled batch on its flush timer, which may come after the queue was idle once.
    const settled = await waitUntil(
      'every served click committed or dropped',
      async () => {
        const state = { committed: await committedClicks(db, link.id), dropped: metricSum(await scrape(api.managementUrl), 'shortener_clicks_dropped_total') };
        return { done: state.committed + state.dropped >= load.served(), state };
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitForQueueIdle(queue, { timeoutMs: 60_000 });
    const committed = await committedClicks(db, link.id);
    const dropped = settled?.dropped ?? 0;
    console.log(
      `drill worker connections ended: ${ended} connections ended; served ${load.served()}, committed ${committed}, dropped ${dropped}, lost ${load.served() - committed - dropped}`,
    );
    expect({ committed, dropped, workerAlive: worker.child.exitCode === null && worker.child.signalCode === null }).toEqual({
      committed: REDIRECTS,
      dropped: 0,
      workerAlive: true,
    });
  });
});
