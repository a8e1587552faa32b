import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { committedClicks, createDrillLink, metricSum, scrape, startRedirectLoad } from '../support/drill';
import { MigratedPostgres, OwnedRedis, startMigratedPostgres, startOwnedRedis } from '../support/engines';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { waitUntil } from '../support/wait';
import { testEnv } from '../support/test-env';

jest.setTimeout(120_000);

/**
 * Drill: the worker is down while redirects go on. The API publishes every
 * click to the queue Redis, which holds them until a worker starts; then
 * each served redirect is committed exactly once and none is dropped.
 */
describe('drill: worker outage', () => {
  const REDIRECTS = 2_000;
  let pg: MigratedPostgres;
  let redis: OwnedRedis;
  let api: CompiledApp;
  let worker: CompiledApp | undefined;
  let db: Client;
  let queue: Queue;
  let queueRedis: Redis;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startMigratedPostgres(), startOwnedRedis()]);
    const env = { DATABASE_URL: pg.url, REDIS_CACHE_URL: redis.url, REDIS_QUEUE_URL: redis.url };
    api = await startCompiledApp('api', env);
    db = new Client({ connectionString: pg.url });
    await db.connect();
    queueRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('clicks', { connection: queueRedis, prefix: testEnv().QUEUE_PREFIX });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    queueRedis?.disconnect();
    await db?.end();
    await worker?.stop();
    await api?.stop();
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  it('commits every redirect served while the worker was down, once it starts, and drops none', async () => {
    const link = await createDrillLink(api.url, 'https://example.com/drill/worker-outage', db);
    const load = startRedirectLoad(api.url, [`/${link.code}`], { total: REDIRECTS });
    const tally = await load.done;
    expect(tally).toMatchObject({ sent: REDIRECTS, statuses: { 302: REDIRECTS }, failed: 0 });

    // Published, not committed: the queue holds every click while no worker runs.
    await waitUntil(
      'the API to publish every click',
      async () => {
        const text = await scrape(api.managementUrl);
        const state = { buffered: metricSum(text, 'shortener_clicks_buffered'), queued: metricSum(text, 'shortener_click_queue_depth_clicks') };
        return { done: state.buffered === 0 && state.queued === REDIRECTS, state };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    expect(await committedClicks(db, link.id)).toBe(0);

    worker = await startCompiledApp('worker', { DATABASE_URL: pg.url, REDIS_CACHE_URL: redis.url, REDIS_QUEUE_URL: redis.url });
    await waitForQueueIdle(queue, { timeoutMs: 60_000 });
    const committed = await committedClicks(db, link.id);
    const text = await scrape(api.managementUrl);
    const dropped = metricSum(text, 'shortener_clicks_dropped_total');
    console.log(`drill worker outage: served ${load.served()}, committed ${committed}, dropped ${dropped}, lost ${load.served() - committed - dropped}`);
    expect({ committed, dropped, recorded: metricSum(text, 'shortener_clicks_recorded_total') }).toEqual({
      committed: REDIRECTS,
      dropped: 0,
      recorded: REDIRECTS,
    });
  });
});
