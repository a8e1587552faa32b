import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { alertHolds, committedClicks, createDrillLink, metricSum, samplesOf, scrape, startRedirectLoad } from '../support/drill';
import { MigratedPostgres, OwnedRedis, startMigratedPostgres, startOwnedRedis } from '../support/engines';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { waitUntil } from '../support/wait';
import { testEnv } from '../support/test-env';

jest.setTimeout(120_000);

/**
 * Drill: the queue Redis is full (maxmemory reached, noeviction) and the
 * worker is down. The API keeps redirecting; publishes are refused, the
 * API buffers up to CLICK_BUFFER_MAX_CLICKS and drops beyond, counting each
 * dropped click. Once Redis takes writes again and a worker runs, every
 * served redirect is either committed or counted as dropped, and
 * ShortenerClicksDropped's expression holds over the scrapes Prometheus
 * would have taken.
 */
describe('drill: queue Redis full', () => {
  const BUFFER_MAX = 300;
  const ROUND = 500;
  let pg: MigratedPostgres;
  let cacheRedis: OwnedRedis;
  let queueRedis: OwnedRedis;
  let api: CompiledApp;
  let worker: CompiledApp | undefined;
  let db: Client;
  let admin: Redis;
  let queueConnection: Redis;
  let queue: Queue;
  let env: Record<string, string>;
  beforeAll(async () => {
    [pg, cacheRedis, queueRedis] = await Promise.all([startMigratedPostgres(), startOwnedRedis(), startOwnedRedis()]);
    env = { DATABASE_URL: pg.url, REDIS_CACHE_URL: cacheRedis.url, REDIS_QUEUE_URL: queueRedis.url };
    // Small batches, so publishes meet the full Redis as the clicks come.
    api = await startCompiledApp('api', { ...env, CLICK_BUFFER_MAX_CLICKS: String(BUFFER_MAX), CLICK_BATCH_SIZE: '50', CLICK_FLUSH_INTERVAL_MS: '50' });
    db = new Client({ connectionString: pg.url });
    await db.connect();
    admin = new Redis(queueRedis.url);
    queueConnection = new Redis(queueRedis.url, { maxRetriesPerRequest: null });
    queue = new Queue('clicks', { connection: queueConnection, prefix: testEnv().QUEUE_PREFIX });
  }, 120_000);
  afterAll(async () => {
    await queue?.close();
    queueConnection?.disconnect();
    admin?.disconnect();
    await db?.end();
    await worker?.stop();
    await api?.stop();
    await Promise.all([pg?.stop(), cacheRedis?.stop(), queueRedis?.stop()]);
  });

  it('served = committed + dropped, the drops counted, and the alert condition true', async () => {
    const link = await createDrillLink(api.url, 'https://example.com/drill/queue-redis-full', db);
    const scrapes = [await scrape(api.managementUrl)];
    // About 1,000 queued clicks' worth (some 300 bytes each) above what Redis holds now.
    const used = Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1]);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', String(used + 300_000));

    // Rounds of redirects until clicks are dropped, and one round more with Redis full throughout.
    let served = 0;
    let roundsAfterDrops = 0;
    for (let round = 0; roundsAfterDrops < 2; round += 1) {
      if (round === 20) throw new Error(`no click dropped after ${round * ROUND} redirects`);
      const tally = await startRedirectLoad(api.url, [`/${link.code}`], { total: ROUND, concurrency: 4 }).done;
      expect(tally).toMatchObject({ sent: ROUND, statuses: { 302: ROUND }, failed: 0 });
      served += ROUND;
      scrapes.push(await scrape(api.managementUrl));
      if (metricSum(scrapes[scrapes.length - 1], 'shortener_clicks_dropped_total') > 0) roundsAfterDrops += 1;
    }
    const full = scrapes[scrapes.length - 1];
    expect(metricSum(full, 'shortener_click_publish_failures_total')).toBeGreaterThan(0);
    // Held in the API's buffer while Redis refuses them, up to its bound exactly and never above: the flush
    // timer does not seal part-filled batches while publishes fail, so segments never run out before clicks
    // do. The largest of the scrapes: a publish Redis takes in a moment of freed memory drains a batch or two.
    const buffered = Math.max(...scrapes.map((text) => metricSum(text, 'shortener_clicks_buffered')));
    expect(buffered).toBe(BUFFER_MAX);

    await admin.config('SET', 'maxmemory', '0');
    worker = await startCompiledApp('worker', env);
    await waitUntil(
      'the API to publish its buffer',
      async () => {
        const buffered = metricSum(await scrape(api.managementUrl), 'shortener_clicks_buffered');
        return { done: buffered === 0, state: buffered };
      },
      { timeoutMs: 60_000, stallTimeoutMs: 30_000 },
    );
    await waitForQueueIdle(queue, { timeoutMs: 60_000 });
    const committed = await committedClicks(db, link.id);
    const after = await scrape(api.managementUrl);
    scrapes.push(after);
    const dropped = samplesOf(after, 'shortener_clicks_dropped_total');
    const droppedTotal = metricSum(after, 'shortener_clicks_dropped_total');
    console.log(
      `drill queue Redis full: served ${served}, committed ${committed}, dropped ${droppedTotal}, lost ${served - committed - droppedTotal} (buffered at most ${buffered} of ${BUFFER_MAX})`,
    );
    // Every reason's series exists from the start, at 0 but for the one that dropped.
    expect(dropped.map((s) => [s.labels.reason, s.value > 0]).sort()).toEqual([
      ['buffer_full', true],
      ['queue_full', false],
      ['shutdown', false],
    ]);
    expect(droppedTotal).toBeGreaterThan(0);
    expect(committed + droppedTotal).toBe(served);
    expect(metricSum(after, 'shortener_clicks_recorded_total')).toBe(committed);

    const alert = await alertHolds(
      'ShortenerClicksDropped',
      scrapes,
      'shortener_clicks_dropped_total',
      { job: 'shortener-api', instance: new URL(api.managementUrl).host },
      [{ reason: 'buffer_full' }],
    );
    expect(alert).toEqual({ ok: true, output: expect.stringContaining('SUCCESS') });
  });
});
