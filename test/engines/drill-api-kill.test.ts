import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { committedClicks, createDrillLink, metricSum, scrape, startRedirectLoad } from '../support/drill';
import { MigratedPostgres, OwnedRedis, startMigratedPostgres, startOwnedRedis } from '../support/engines';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { testEnv } from '../support/test-env';

jest.setTimeout(120_000);

/**
 * Drill: the API is killed with SIGKILL under redirect load. What it held in
 * its buffer is lost, nothing else: `shortener_clicks_buffered`, read by the
 * scrape just before the kill, bounds the loss, plus the clicks of the
 * redirects answered between that scrape and the kill.
 */
describe('drill: kill -9 of the API under load', () => {
  let pg: MigratedPostgres;
  let redis: OwnedRedis;
  let api: CompiledApp;
  let worker: CompiledApp | undefined;
  let db: Client;
  let queueConnection: Redis;
  let queue: Queue;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startMigratedPostgres(), startOwnedRedis()]);
    const env = { DATABASE_URL: pg.url, REDIS_CACHE_URL: redis.url, REDIS_QUEUE_URL: redis.url };
    // Batches of 100 published when full, and no timed flush within the drill: the buffer holds up to 99 clicks
    // plus the batches being published when the kill comes.
    [api, worker] = await Promise.all([
      startCompiledApp('api', { ...env, CLICK_BATCH_SIZE: '100', CLICK_FLUSH_INTERVAL_MS: '60000' }),
      startCompiledApp('worker', env),
    ]);
    db = new Client({ connectionString: pg.url });
    await db.connect();
    queueConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('clicks', { connection: queueConnection, prefix: testEnv().QUEUE_PREFIX });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    queueConnection?.disconnect();
    await db?.end();
    await worker?.stop();
    await api?.stop();
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  it('loses at most what the buffered gauge showed just before the kill, plus what was served after that scrape', async () => {
    const link = await createDrillLink(api.url, 'https://example.com/drill/api-kill', db);
    const load = startRedirectLoad(api.url, [`/${link.code}`], { concurrency: 4 });
    await new Promise((r) => setTimeout(r, 3_000));
    // The gauge is read when the scrape is answered; redirects answered after the scrape was sent may
    // have recorded their clicks after that read, and are lost with the buffer too.
    const servedBeforeScrape = load.served();
    const text = await scrape(api.managementUrl);
    api.child.kill('SIGKILL');
    const servedAfterScrape = load.served() - servedBeforeScrape;
    expect(await api.exited).toBe('SIGKILL');
    const tally = await load.stop();
    const buffered = metricSum(text, 'shortener_clicks_buffered');
    const dropped = metricSum(text, 'shortener_clicks_dropped_total');

    await waitForQueueIdle(queue, { timeoutMs: 60_000 });
    const served = load.served();
    const committed = await committedClicks(db, link.id);
    const lost = served - committed;
    console.log(
      `drill kill -9 of the API: served ${served}, committed ${committed}, dropped ${dropped}, lost ${lost} ` +
        `(buffered gauge before the kill ${buffered}, served after that scrape ${servedAfterScrape}; ${tally.failed} requests unanswered)`,
    );
    // Only 302s and requests the kill left unanswered.
    expect(Object.keys(tally.statuses)).toEqual(['302']);
    expect(dropped).toBe(0);
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(lost).toBeLessThanOrEqual(buffered + servedAfterScrape);
  });
});
