import { INestApplicationContext } from '@nestjs/common';
import { QUEUES, QueueName, QueueWorkersService, createQueue } from '@shortener/queue';
import { AppConfig } from '@shortener/config';
import type { Queue } from 'bullmq';
import { createWorkerApp } from '../../apps/worker/src/worker.app';
import { testConfig } from './test-env';

/** The worker booted in-process as a Nest application context. */
export interface TestWorker {
  app: INestApplicationContext;
  config: AppConfig;
  workers: QueueWorkersService;
  close: () => Promise<void>;
}

/**
 * Boots the real worker (BullMQ processors on this Jest worker's database
 * and Redis) with environment overrides; resolves once its workers take jobs.
 */
export async function startTestWorker(overrides: Record<string, string> = {}): Promise<TestWorker> {
  const config = testConfig('worker', overrides);
  const app = await createWorkerApp(config);
  const workers = app.get(QueueWorkersService);
  await workers.started;
  return { app, config, workers, close: () => app.close() };
}

let prefixes = 0;
/**
 * A BullMQ prefix of its own for one test file: its queues (and schedulers)
 * never see another file's jobs. A Redis Cluster hash tag, like the default.
 */
export function uniqueQueuePrefix(label: string): string {
  prefixes += 1;
  return `{test-${process.env.TEST_RUN_ID}-w${process.env.JEST_WORKER_ID ?? '1'}-${label}-${prefixes}}`;
}

/** A producer-side handle on one of the app's queues for the test to inspect (close it in afterAll). */
export function testQueue(config: AppConfig, name: QueueName = QUEUES.clicks): Queue {
  return createQueue(config, name);
}
