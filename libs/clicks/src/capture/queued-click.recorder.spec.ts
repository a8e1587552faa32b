import { loadConfig } from '@shortener/config';
import { ClickEvent } from '@shortener/links';
import { MetricsService } from '@shortener/observability';
import { Queue } from 'bullmq';
import { AsyncLocalStorage } from 'node:async_hooks';
import { SilentPeer, startSilentPeer } from '../../../../test/support/silent-peer';
import { QueuedClickRecorder } from './queued-click.recorder';

const click = (i: number): ClickEvent => ({
  linkId: String(i + 1),
  at: 1_900_000_000_000 + i,
  referrerHost: null,
  userAgent: 'ua',
  visitorHash: `v${i}`,
  country: null,
});
const turn = () => new Promise((r) => setImmediate(r));

/**
 * The recorder's memory bound when Redis stops answering: a real BullMQ
 * queue whose connection reaches a TCP peer that accepts and never replies
 * (a Redis server hung or partitioned away), so every publish stays in flight.
 */
describe(QueuedClickRecorder.name, () => {
  let peer: SilentPeer;
  let queue: Queue;
  let recorder: QueuedClickRecorder;
  let metrics: MetricsService;

  beforeEach(async () => {
    peer = await startSilentPeer();
    queue = new Queue('clicks', {
      connection: { host: '127.0.0.1', port: peer.port, maxRetriesPerRequest: null, enableReadyCheck: false, retryStrategy: () => null },
    });
    queue.on('error', () => undefined);
    metrics = new MetricsService();
    const config = loadConfig('api', { CLICK_BATCH_SIZE: '2', CLICK_FLUSH_INTERVAL_MS: '60000', CLICK_BUFFER_MAX_CLICKS: '18' });
    recorder = new QueuedClickRecorder(config, queue, metrics);
  });

  afterEach(async () => {
    // Not awaited: BullMQ's connection waits for a first reply that never comes.
    void queue.disconnect().catch(() => undefined);
    await peer.close();
  });

  const dropped = async (reason: string) => (await metrics.clicksDropped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it('holds CLICK_BUFFER_MAX_CLICKS (18) clicks, 4 batches of them in flight, then drops and counts the rest as buffer_full', async () => {
    for (let i = 0; i < 30; i++) {
      recorder.record(click(i));
      // Publishing starts after the redirect's turn of the event loop.
      await turn();
    }
    // 2 clicks per batch: 4 in flight, the rest waiting or filling.
    await metrics.scrape();
    expect({
      pending: recorder.pending,
      bufferFull: await dropped('buffer_full'),
      gauge: (await metrics.clicksBuffered.get()).values[0].value,
    }).toEqual({ pending: 18, bufferFull: 12, gauge: 18 });
  });

  it('keeps filling the open batch while publishes fail, so timer flushes of a few clicks each still hold CLICK_BUFFER_MAX_CLICKS (30) clicks', async () => {
    // A queue Redis that refuses connections: every publish fails at once and is kept for a retry.
    const refusing = new Queue('clicks', {
      connection: { host: '127.0.0.1', port: peer.port + 1, maxRetriesPerRequest: null, enableReadyCheck: false, retryStrategy: () => null, lazyConnect: true },
    });
    refusing.on('error', () => undefined);
    const m = new MetricsService();
    const config = loadConfig('api', { CLICK_BATCH_SIZE: '10', CLICK_FLUSH_INTERVAL_MS: '60000', CLICK_BUFFER_MAX_CLICKS: '30' });
    const r = new QueuedClickRecorder(config, refusing, m);
    try {
      for (let i = 0; i < 41; i++) {
        r.record(click(i));
        // What the flush timer does every CLICK_FLUSH_INTERVAL_MS, a click or two later each time.
        await r.flush();
      }
      const bufferFull = (await m.clicksDropped.get()).values.find((v) => v.labels.reason === 'buffer_full')?.value ?? 0;
      expect({ pending: r.pending, bufferFull, failures: (await m.clickPublishFailures.get()).values[0].value }).toEqual({
        pending: 30,
        bufferFull: 11,
        failures: 1,
      });
    } finally {
      void refusing.disconnect().catch(() => undefined);
    }
  });

  it('publishes outside the async context of the redirect that filled the batch (no publish in its trace)', async () => {
    const requestContext = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const add = queue.add.bind(queue);
    jest.spyOn(queue, 'add').mockImplementation((...args) => {
      seen.push(requestContext.getStore());
      return add(...args);
    });
    requestContext.run('redirect', () => {
      recorder.record(click(0));
      recorder.record(click(1));
    });
    await turn();
    expect(seen).toEqual([undefined]);
  });
});
