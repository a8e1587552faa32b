import { QueuedClickRecorder } from '@shortener/clicks';
import { MetricsService } from '@shortener/observability';
import type { Queue } from 'bullmq';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode } from '../support/click-pipeline';
import { waitUntil } from '../support/pipeline-wait';
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
    await waitUntil('the size-triggered batch', async () => ({ done: (await queue.getWaitingCount()) === 1, state: recorder.pending }));
    expect(await batches(queue)).toEqual([3]);
    for (let i = 0; i < 2; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
    await app.close();
    api = undefined;
    expect(await batches(queue)).toEqual([2, 3]);
  });

  it('publishes buffered clicks every CLICK_FLUSH_INTERVAL_MS, below the batch size', async () => {
    const { api: app, clicks: queue, code } = await start({ CLICK_BATCH_SIZE: '100', CLICK_FLUSH_INTERVAL_MS: '200' });
    expect((await app.http().get(`/${code}`)).status).toBe(302);
    await waitUntil('the timer-triggered batch', async () => ({ done: (await queue.getWaitingCount()) === 1, state: app.app.get(QueuedClickRecorder).pending }));
    expect(await batches(queue)).toEqual([1]);
  });

  it('drops and counts clicks while the queue holds CLICK_MAX_QUEUE_DEPTH waiting jobs, instead of buffering them', async () => {
    const { api: app, clicks: queue, code } = await start({ CLICK_MAX_QUEUE_DEPTH: '1', CLICK_BATCH_SIZE: '100' });
    const recorder = app.app.get(QueuedClickRecorder);
    const metrics = app.app.get(MetricsService);
    const dropped = async (reason: string) => (await metrics.clicksDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    expect((await app.http().get(`/${code}`)).status).toBe(302);
    expect(await recorder.drain(10_000)).toBe(true);
    // No worker runs: the one job waits, and the recorder knows (it counts its own publishes).
    expect([await queue.getWaitingCount(), recorder.queueDepth]).toEqual([1, 1]);
    for (let i = 0; i < 5; i += 1) expect((await app.http().get(`/${code}`)).status).toBe(302);
    expect({ dropped: await dropped('queue_full'), pending: recorder.pending }).toEqual({ dropped: 5, pending: 0 });
    expect(await batches(queue)).toEqual([1]);
  });
});
