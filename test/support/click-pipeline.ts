import { QueuedClickRecorder } from '@shortener/clicks';
import type { Queue } from 'bullmq';
import { TestApi } from './api-app';
import { QueueCounts, QueueWaitOptions, waitForQueueIdle } from './pipeline-wait';
import { waitUntil } from './wait';

/**
 * Drains the click pipeline: the API's buffered clicks are published (the
 * recorder's own flush, with a deadline), then the click queue is waited on
 * until every job has been processed. After it, every counted redirect made
 * before the call is in the rollups.
 */
export async function drainClicks(api: TestApi, clickQueue: Queue, options: QueueWaitOptions = {}): Promise<QueueCounts> {
  const recorder = api.app.get(QueuedClickRecorder);
  if (!(await recorder.drain(options.timeoutMs ?? 10_000))) throw new Error(`the API still holds ${recorder.pending} unpublished clicks`);
  return waitForQueueIdle(clickQueue, options);
}

/**
 * Waits until at least `ms` remain before the next UTC hour boundary (at most
 * `ms` plus a little), so clicks made right after it share one hourly bucket
 * and a test can assert the series exactly. A bounded wait on the clock, not a fixed sleep.
 */
export async function awayFromHourBoundary(ms = 20_000): Promise<void> {
  await waitUntil(
    'a moment not close to a UTC hour boundary',
    async () => {
      const left = 3_600_000 - (Date.now() % 3_600_000);
      return { done: left > ms, state: Math.ceil(left / 1000) };
    },
    { intervalMs: 250, timeoutMs: ms + 5_000, stallTimeoutMs: ms + 5_000 },
  );
}

/** Start of the current UTC hour, epoch ms. */
export function currentHourStart(now = Date.now()): number {
  return now - (now % 3_600_000);
}

/** Creates a link with the admin key and returns its code; fails unless the API answers 201. */
export async function createLinkCode(api: TestApi, body: Record<string, unknown>): Promise<string> {
  const res = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).send(body);
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.code as string;
}
