import { Processor, getQueueToken } from '@nestjs/bullmq';
import type { Queue, WorkerOptions } from 'bullmq';
import { DynamicModule, Logger, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '@shortener/config';
import { DatabaseModule } from '@shortener/database';
import { LogSummary, ObservabilityModule } from '@shortener/observability';
import { QueuesModule } from '../queue.module';
import { ALL_QUEUES, QUEUES, QueueName } from '../queues.contract';
import { JobDispatcher, LOG_SUMMARY_MS } from './job.dispatcher';
import { JobHandlerRegistry, PROCESSED_QUEUES } from './job-handler.registry';
import { PROCESSED_QUEUE_HANDLES, QUEUE_PROCESSORS, QueueWorkersService } from './queue-workers.service';

/**
 * BullMQ worker options of a queue. Workers are created stopped
 * (`autorun: false`) and started by {@link QueueWorkersService} once the
 * job wiring has been checked. The lock duration doubles as the stalled-job
 * check interval: a worker killed mid-job has its job picked up again after
 * one to two intervals (`WORKER_JOB_LOCK_MS`).
 */
export function workerOptions(config: AppConfig, queue: QueueName): Omit<WorkerOptions, 'connection'> {
  return {
    autorun: false,
    // Click batches are independent (ordered upserts, no deadlocks); maintenance runs one at a time.
    concurrency: queue === QUEUES.clicks ? config.worker.concurrency : 1,
    lockDuration: config.worker.jobLockMs,
    stalledInterval: config.worker.jobLockMs,
    maxStalledCount: 1,
  };
}

// @Processor is a class decorator: one subclass per queue carries the queue name and options.
function processorFor(queue: QueueName, options: Omit<WorkerOptions, 'connection'>): Type<JobDispatcher> {
  @Processor(queue, options)
  class QueueProcessor extends JobDispatcher {}
  Object.defineProperty(QueueProcessor, 'name', { value: `${queue[0].toUpperCase()}${queue.slice(1)}QueueProcessor` });
  return QueueProcessor;
}

/**
 * The worker side of the queues: one BullMQ worker per queue (through
 * @nestjs/bullmq `@Processor`), dispatching jobs to the `@HandlesJob`
 * providers of the process. Needs {@link QueueConnectionModule} and the modules that
 * provide the handlers.
 */
@Module({})
export class QueueWorkersModule {
  /**
   * @param config decides concurrency and lock durations (decorator options are fixed at module creation).
   * @param queues the queues to process; all of them by default.
   */
  static forRoot(config: AppConfig, queues: readonly QueueName[] = ALL_QUEUES): DynamicModule {
    const processors = queues.map((q) => processorFor(q, workerOptions(config, q)));
    return {
      module: QueueWorkersModule,
      imports: [DiscoveryModule, QueuesModule, ObservabilityModule, DatabaseModule],
      providers: [
        { provide: PROCESSED_QUEUES, useValue: queues },
        JobHandlerRegistry,
        ...processors,
        { provide: QUEUE_PROCESSORS, inject: processors, useFactory: (...instances: JobDispatcher[]) => instances },
        {
          provide: PROCESSED_QUEUE_HANDLES,
          inject: queues.map((q) => getQueueToken(q)),
          // Listeners from the start: a queue's connection error with no listener would crash the process.
          // Summarised: a Redis that is away fails every reconnect.
          useFactory: (...handles: Queue[]) => {
            const logger = new Logger('Queue');
            for (const q of handles) {
              const errors = new LogSummary(logger, `queue ${q.name} error`, LOG_SUMMARY_MS);
              q.on('error', (e: Error) => {
                errors.add(e.message);
              });
            }
            return handles;
          },
        },
        QueueWorkersService,
      ],
      exports: [QueueWorkersService],
    };
  }
}
