import { QueuedClickRecorder } from '@shortener/clicks';
import { MetricsService } from '@shortener/observability';
import { readQueuedClicks } from '@shortener/queue';
import type { Queue } from 'bullmq';
import Redis from 'ioredis';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode } from '../support/click-pipeline';
import { waitUntil } from '../support/wait';
import { OwnedRedis, startOwnedRedis } from '../support/engines';
import { testQueue, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(30_000);

/** The API side of the pipeline alone (no worker runs here): what reaches the click queue, and when. */
describe('click capture', () => {
  let api: TestApi | undefined;
  let clicks: Queue | undefined;
  afterEach(async () => {
    await api?.close();
    await clicks?.obliterate({ force: true });
    await clicks?.close();
    api = undefined;
    clicks = undefined;
  });
  const start = async (env: Record<string, string>) => {
    api = await startTestApi({ QUEUE_PREFIX: uniqueQueuePrefix('capture'), ...env });
    clicks = testQueue(api.config);
    return { api, clicks, code: await createLinkCode(api, { url: 'https://example.com/capture', alias: uniqueAlias('capture') }) };
  };
  const batches = async (queue: Queue) => (await queue.getWaiting()).map((j) => j.data.clicks.length).sort((a, b) => a - b);

  it('publishes a batch as soon as CLICK_BATCH_SIZE clicks are buffered, and what is left on shutdown', async () => {
    const { api: app, clicks: queue, code } = await start({ CLICK_BATCH_SIZE: '3', CLICK_FLUSH_INTERVAL_MS: '60000' });
    const recorder = app.app.get(QueuedClickRecorder);
    for (let i = 0; i < 2; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
    expect({ pending: recorder.pending, jobs: await batches(queue) }).toEqual({ pending: 2, jobs: [] });
    expect((await app.http().get(`/${code}`)).status).toBe(302);
    await waitUntil('the size-triggered batch', async () => ({ done: (await queue.getWaitingCount()) === 1, state: recorder.pending }), {
      timeoutMs: 30_000,
      stallTimeoutMs: 10_000,
    });
    expect(await batches(queue)).toEqual([3]);
    for (let i = 0; i < 2; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
    await app.close();
    api = undefined;
    expect(await batches(queue)).toEqual([2, 3]);
  });

  it('publishes buffered clicks every CLICK_FLUSH_INTERVAL_MS, below the batch size', async () => {
    const { api: app, clicks: queue, code } = await start({ CLICK_BATCH_SIZE: '100', CLICK_FLUSH_INTERVAL_MS: '200' });
    expect((await app.http().get(`/${code}`)).status).toBe(302);
    await waitUntil(
      'the timer-triggered batch',
      async () => ({
        done: (await queue.getWaitingCount()) === 1,
        state: app.app.get(QueuedClickRecorder).pending,
      }),
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    expect(await batches(queue)).toEqual([1]);
  });

  const dropped = async (app: TestApi, reason: string) =>
    (await app.app.get(MetricsService).clicksDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  const metricValue = async (app: TestApi, metric: 'clicksBuffered' | 'clickPublishFailures' | 'clickQueueDepthClicks' | 'clickOldestWaiting') => {
    const metrics = app.app.get(MetricsService);
    await metrics.scrape();
    return (await metrics[metric].get()).values[0]?.value ?? 0;
  };

  it('drops and counts clicks while the queue holds CLICK_MAX_QUEUE_CLICKS clicks, instead of buffering them', async () => {
    const { api: app, clicks: queue, code } = await start({ CLICK_MAX_QUEUE_CLICKS: '2', CLICK_BATCH_SIZE: '100' });
    const recorder = app.app.get(QueuedClickRecorder);
    expect(await metricValue(app, 'clickOldestWaiting')).toBe(0);
    for (let i = 0; i < 2; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
    expect(await recorder.drain(10_000)).toBe(true);
    // The queued job ages, and the API says so (read from the queue every second): what the freshness SLI needs while no worker runs.
    await waitUntil(
      'the oldest queued click to be a second old',
      async () => ({
        done: (await metricValue(app, 'clickOldestWaiting')) >= 1,
        state: recorder.pending,
      }),
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    // No worker runs: the one job of two clicks waits, and the queue's click counter says so.
    expect([await batches(queue), await readQueuedClicks(queue), recorder.queueDepthClicks]).toEqual([[2], 2, 2]);
    for (let i = 0; i < 5; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
    expect({ dropped: await dropped(app, 'queue_full'), pending: recorder.pending }).toEqual({ dropped: 5, pending: 0 });
    expect(await metricValue(app, 'clickQueueDepthClicks')).toBe(2);
    expect(await batches(queue)).toEqual([2]);
  });

  describe('while the queue Redis refuses writes (out of memory)', () => {
    let owned: OwnedRedis;
    beforeAll(async () => {
      owned = await startOwnedRedis();
    });
    afterAll(() => owned.stop());
    const refuseWrites = async (on: boolean) => {
      const admin = new Redis(owned.url);
      // Below what an empty server uses: with noeviction, every write is refused with OOM.
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', on ? '1' : '0');
      admin.disconnect();
    };

    it('keeps the clicks and publishes every one, under its own batch id, once Redis takes writes again', async () => {
      const { api: app, clicks: queue, code } = await start({ REDIS_QUEUE_URL: owned.url, CLICK_BATCH_SIZE: '4', CLICK_FLUSH_INTERVAL_MS: '100' });
      const recorder = app.app.get(QueuedClickRecorder);
      await refuseWrites(true);
      for (let i = 0; i < 10; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
      await waitUntil('a refused publish', async () => ({ done: (await metricValue(app, 'clickPublishFailures')) > 0, state: recorder.pending }), {
        timeoutMs: 30_000,
        stallTimeoutMs: 10_000,
      });
      expect({ buffered: await metricValue(app, 'clicksBuffered'), pending: recorder.pending, jobs: await queue.getWaitingCount() }).toEqual({
        buffered: 10,
        pending: 10,
        jobs: 0,
      });
      // Nothing is queued: the age is the buffer's own.
      await waitUntil(
        'the oldest buffered click to be a second old',
        async () => ({
          done: (await metricValue(app, 'clickOldestWaiting')) >= 1,
          state: recorder.pending,
        }),
        { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
      );
      await refuseWrites(false);
      // Retries back off to 10 s at most: drained well within 5x that.
      expect(await recorder.drain(50_000)).toBe(true);
      const jobs = await queue.getWaiting();
      // Batches of at most CLICK_BATCH_SIZE, split where the 100 ms flush ticks fell between the redirects.
      const sizes = jobs.map((j) => j.data.clicks.length as number);
      expect({ clicks: sizes.reduce((a, b) => a + b, 0), largest: Math.max(...sizes) }).toEqual({ clicks: 10, largest: 4 });
      expect(new Set(jobs.map((j) => j.id)).size).toBe(jobs.length);
      expect(jobs.every((j) => j.id === j.data.batchId)).toBe(true);
      expect({ buffered: await metricValue(app, 'clicksBuffered'), queued: await readQueuedClicks(queue), dropped: await dropped(app, 'buffer_full') }).toEqual(
        { buffered: 0, queued: 10, dropped: 0 },
      );
    }, 90_000);

    it('drops and counts clicks beyond CLICK_BUFFER_MAX_CLICKS', async () => {
      const { api: app, code } = await start({
        REDIS_QUEUE_URL: owned.url,
        CLICK_BATCH_SIZE: '2',
        CLICK_BUFFER_MAX_CLICKS: '3',
        CLICK_FLUSH_INTERVAL_MS: '100',
      });
      const recorder = app.app.get(QueuedClickRecorder);
      await refuseWrites(true);
      for (let i = 0; i < 7; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
      expect({ pending: recorder.pending, dropped: await dropped(app, 'buffer_full') }).toEqual({ pending: 3, dropped: 4 });
      await refuseWrites(false);
      expect(await recorder.drain(50_000)).toBe(true);
    }, 90_000);
  });
});
