import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ALL_JOBS } from '../queues.contract';
import { HandlesJob, JobHandler } from './job-handler.decorator';
import { JobWiringError, jobWiringProblems } from './job-wiring.check';

/** Injection token: the queue names this process runs a BullMQ worker for. */
export const PROCESSED_QUEUES = Symbol('PROCESSED_QUEUES');

/**
 * The handlers of this process, found through {@link HandlesJob}. The wiring
 * is checked when the module initialises, before any BullMQ worker runs:
 * a job with no handler or two, or a handler of an unknown job, stops the
 * boot with every problem listed.
 */
@Injectable()
export class JobHandlerRegistry implements OnModuleInit {
  private readonly handlers = new Map<string, JobHandler>();

  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(PROCESSED_QUEUES) private readonly processedQueues: readonly string[],
  ) {}

  /** @throws JobWiringError listing every problem. */
  onModuleInit(): void {
    const found = this.discovery
      .getProviders({ metadataKey: HandlesJob.KEY })
      .filter((w) => w.instance)
      .map((w) => ({ job: this.discovery.getMetadataByDecorator(HandlesJob, w)!, instance: w.instance as JobHandler, handler: w.name as string }));
    const problems = jobWiringProblems(ALL_JOBS, found, this.processedQueues);
    if (problems.length > 0) throw new JobWiringError(problems);
    for (const f of found) this.handlers.set(`${f.job.queue}/${f.job.name}`, f.instance);
  }

  /** The handler of a job, or undefined for a job name the contract does not know. */
  handlerFor(queue: string, name: string): JobHandler | undefined {
    return this.handlers.get(`${queue}/${name}`);
  }
}
