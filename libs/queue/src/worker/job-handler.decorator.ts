import { DiscoveryService } from '@nestjs/core';
import type { Job } from 'bullmq';
import { JobDefinition } from '../queues.contract';

/**
 * What a job handler does with one job. Throwing fails the attempt (BullMQ
 * retries with the job's backoff); an `UnrecoverableError` fails it for good.
 * The return value is stored as the job's result.
 */
export interface JobHandler<TData = unknown, TResult = unknown> {
  handle(job: Job<TData>): Promise<TResult>;
}

/**
 * Marks a provider as the handler of one job of {@link JOBS}:
 * `@HandlesJob(JOBS.clickBatch)`. The worker discovers handlers at boot and
 * refuses to start unless every job has exactly one.
 */
export const HandlesJob = DiscoveryService.createDecorator<JobDefinition>();
