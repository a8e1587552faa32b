import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@shortener/config';
import { DatabaseConnectionModule } from '@shortener/database';
import {
  HandlesJob,
  JOBS,
  JobDispatcher,
  JobWiringError,
  PROCESSED_QUEUE_HANDLES,
  QUEUE_PROCESSORS,
  QueueConnectionModule,
  QueueWorkersModule,
} from '@shortener/queue';
import type { Queue } from 'bullmq';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { testConfig } from '../support/test-env';
import { uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(30_000);

@Injectable()
@HandlesJob(JOBS.clickBatch)
class SecondClickBatchHandler {
  async handle(): Promise<void> {}
}

@Module({ providers: [SecondClickBatchHandler] })
class SecondHandlerModule {}

/** Compiles the module, runs its init hooks and returns the error they throw; always closes what was opened. */
async function bootError(root: Parameters<typeof Test.createTestingModule>[0]['imports']): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({ imports: root }).compile();
  try {
    await moduleRef.init();
    return undefined;
  } catch (e) {
    // close() re-awaits the failed init; forget it so close() releases what the failed boot opened.
    (moduleRef as unknown as { initializationPromise?: Promise<void> }).initializationPromise = undefined;
    // Connections closed while still connecting would linger in ioredis' reconnect logic.
    const processors = moduleRef.get<JobDispatcher[]>(QUEUE_PROCESSORS, { strict: false });
    const queues = moduleRef.get<Queue[]>(PROCESSED_QUEUE_HANDLES, { strict: false });
    await Promise.all([...processors.map((p) => p.worker.waitUntilReady()), ...queues.map((q) => q.waitUntilReady())]);
    return e;
  } finally {
    await moduleRef.close();
  }
}

describe('worker job wiring at boot', () => {
  const config = testConfig('worker', { QUEUE_PREFIX: uniqueQueuePrefix('wiring') });

  it('refuses to start when a job has two handlers', async () => {
    const error = await bootError([WorkerModule.forRoot(config), SecondHandlerModule]);
    expect(error).toBeInstanceOf(JobWiringError);
    expect((error as JobWiringError).problems).toEqual(['job clicks/click-batch has 2 handlers: ClickBatchHandler, SecondClickBatchHandler']);
  });

  it('refuses to start when jobs have no handler, listing every one', async () => {
    const error = await bootError([
      ConfigModule.forRoot(config),
      DatabaseConnectionModule.forRoot(),
      QueueConnectionModule.forRoot(),
      SecondHandlerModule,
      QueueWorkersModule.forRoot(config),
    ]);
    expect(error).toBeInstanceOf(JobWiringError);
    expect((error as JobWiringError).problems).toEqual(['job maintenance/expiry-sweep has no handler', 'job maintenance/housekeeping has no handler']);
  });
});
