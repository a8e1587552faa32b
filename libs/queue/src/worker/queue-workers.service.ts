import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { MetricsService } from '@shortener/observability';
import { Queue, Worker } from 'bullmq';
import { JobDispatcher } from './job.dispatcher';

/** Injection token: the processors (one per queue) of the process. */
export const QUEUE_PROCESSORS = Symbol('QUEUE_PROCESSORS');
/** Injection token: the BullMQ queues the process runs workers for. */
export const PROCESSED_QUEUE_HANDLES = Symbol('PROCESSED_QUEUE_HANDLES');

/** How often the per-queue job counts gauge is refreshed. */
const QUEUE_GAUGE_INTERVAL_MS = 5_000;
const GAUGE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;

/**
 * Starts the BullMQ workers once the application has booted (the job wiring
 * was checked during module initialisation, and PostgreSQL is connected by
 * then), after their queue Redis connection is ready; keeps
 * `shortener_queue_jobs{queue,state}` current. The workers themselves are
 * closed by @nestjs/bullmq on shutdown, after their active jobs finish.
 */
@Injectable()
export class QueueWorkersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueueWorkersService.name);
  private gaugeTimer?: NodeJS.Timeout;
  private refreshing = false;

  constructor(
    @Inject(QUEUE_PROCESSORS) private readonly processors: JobDispatcher[],
    @Inject(PROCESSED_QUEUE_HANDLES) private readonly queues: Queue[],
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const p of this.processors) {
      await p.worker.waitUntilReady();
      p.worker.run().catch((e: Error) => this.logger.error(`worker of ${p.worker.name} stopped: ${e.message}`));
    }
    this.gaugeTimer = setInterval(() => void this.refreshGauge(), QUEUE_GAUGE_INTERVAL_MS);
    this.gaugeTimer.unref();
    void this.refreshGauge();
  }

  onApplicationShutdown(): void {
    clearInterval(this.gaugeTimer);
  }

  /** The running BullMQ worker of a queue (tests observe its events). */
  workerFor(queue: string): Worker {
    const p = this.processors.find((x) => x.worker.name === queue);
    if (!p) throw new Error(`this process runs no worker for queue ${queue}`);
    return p.worker;
  }

  private async refreshGauge(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      for (const q of this.queues) {
        const counts = await q.getJobCounts(...GAUGE_STATES, 'prioritized');
        for (const state of GAUGE_STATES) {
          // Prioritized jobs are waiting jobs with a priority.
          const value = (counts[state] ?? 0) + (state === 'waiting' ? (counts.prioritized ?? 0) : 0);
          this.metrics.queueJobs.set({ queue: q.name, state }, value);
        }
      }
    } catch (e) {
      this.logger.debug(`queue gauge refresh failed: ${(e as Error).message}`);
    } finally {
      this.refreshing = false;
    }
  }
}
