import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DatabaseConnector } from '@shortener/database';
import { MetricsService } from '@shortener/observability';
import { Queue, Worker } from 'bullmq';
import { oldestQueuedAt, readQueuedClicks, reconcileQueuedClicks, waitingAgeSeconds } from '../jobs/queued-clicks.counter';
import { QUEUES } from '../queues.contract';
import { JobDispatcher } from './job.dispatcher';

/** Injection token: the processors (one per queue) of the process. */
export const QUEUE_PROCESSORS = Symbol('QUEUE_PROCESSORS');
/** Injection token: the BullMQ queues the process runs workers for. */
export const PROCESSED_QUEUE_HANDLES = Symbol('PROCESSED_QUEUE_HANDLES');

/** How often the per-queue job counts gauge is refreshed. */
const QUEUE_GAUGE_INTERVAL_MS = 5_000;
const GAUGE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;
/** At shutdown, how long a worker's blocking connection may take to finish reconnecting before the workers are closed. */
export const RECONNECT_SETTLE_MS = 5_000;

interface BlockingClient {
  status: string;
}
// BullMQ keeps the blocking connection protected; only its ioredis status is read.
const blockingClient = (w: Worker) => (w as unknown as { blockingConnection?: { client: Promise<BlockingClient> } }).blockingConnection?.client;

/**
 * Starts the BullMQ workers in the background once the application has
 * booted (the job wiring was checked during module initialisation), as soon
 * as PostgreSQL is connected (see DatabaseConnector: no job is taken before,
 * so none fails for want of a connection) and each worker's queue Redis
 * connection is ready; the boot never waits for either. Keeps
 * `shortener_queue_jobs{queue,state}` current. The workers themselves are
 * closed by @nestjs/bullmq on shutdown, after their active jobs finish.
 *
 * BullMQ 5 never resolves `Worker.close()` when it is called while the
 * worker's blocking connection is reconnecting (taskforcesh/bullmq#4656), e.g.
 * right after the queue Redis came back; before shutdown such a connection
 * gets up to {@link RECONNECT_SETTLE_MS} to be ready again. (When Redis stays
 * down, the process-level shutdown deadline still ends the process.)
 */
@Injectable()
export class QueueWorkersService implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger(QueueWorkersService.name);
  private gaugeTimer?: NodeJS.Timeout;
  private refreshing = false;
  private stopping = false;
  private markStarted!: () => void;
  /**
   * Resolves once every worker runs (taking jobs); stays pending while
   * PostgreSQL or the queue Redis has not been reached, and when the process
   * shuts down first.
   */
  readonly started = new Promise<void>((resolve) => (this.markStarted = resolve));

  constructor(
    @Inject(QUEUE_PROCESSORS) private readonly processors: JobDispatcher[],
    @Inject(PROCESSED_QUEUE_HANDLES) private readonly queues: Queue[],
    private readonly metrics: MetricsService,
    private readonly connector: DatabaseConnector,
  ) {}

  onApplicationBootstrap(): void {
    void this.startWorkers();
    this.gaugeTimer = setInterval(() => void this.refreshGauge(), QUEUE_GAUGE_INTERVAL_MS);
    this.gaugeTimer.unref();
    void this.refreshGauge();
  }

  private async startWorkers(): Promise<void> {
    await this.connector.connected;
    for (const p of this.processors) {
      // BullMQ rejects a wait cut short by close(): shutdown began, nothing is started.
      const ready = await p.worker.waitUntilReady().then(
        () => true,
        () => false,
      );
      if (!ready || this.stopping) return;
      p.worker.run().catch((e: unknown) => {
        this.logger.error(`worker of ${p.worker.name} stopped: ${e instanceof Error ? e.message : String(e)}`);
      });
    }
    this.markStarted();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.gaugeTimer);
    const deadline = Date.now() + RECONNECT_SETTLE_MS;
    for (const p of this.processors) {
      const pending = blockingClient(p.worker);
      if (!pending) continue;
      const client = await Promise.race([
        pending,
        new Promise<undefined>((r) =>
          setTimeout(
            () => {
              r(undefined);
            },
            Math.max(0, deadline - Date.now()),
          ).unref(),
        ),
      ]);
      while (client?.status === 'reconnecting' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    }
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
        const counts: Partial<Record<string, number>> = await q.getJobCounts(...GAUGE_STATES, 'prioritized');
        for (const state of GAUGE_STATES) {
          // Prioritized jobs are waiting jobs with a priority.
          const value = (counts[state] ?? 0) + (state === 'waiting' ? (counts.prioritized ?? 0) : 0);
          this.metrics.queueJobs.set({ queue: q.name, state }, value);
        }
        if (q.name === QUEUES.clicks) {
          // A counter left off by a process killed between a job and its update is put back once the queue is empty.
          if (!counts.waiting && !counts.active && !counts.delayed && !counts.prioritized) await reconcileQueuedClicks(q);
          this.metrics.clickQueueDepthClicks.set(await readQueuedClicks(q));
          this.metrics.clickOldestWaiting.set(waitingAgeSeconds(await oldestQueuedAt(q)));
        }
      }
    } catch (e) {
      this.logger.debug(`queue gauge refresh failed: ${(e as Error).message}`);
    } finally {
      this.refreshing = false;
    }
  }
}
