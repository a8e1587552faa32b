import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { LogSummary } from '@shortener/observability';
import { createQueue, QUEUES, removeQueuedClicks } from '@shortener/queue';
import { Queue } from 'bullmq';

/**
 * The worker's side of the click queue's depth in clicks
 * ({@link removeQueuedClicks}): subtracts a batch's clicks once the batch
 * has left the queue for good (committed, or refused as malformed). Holds
 * its own handle on the `clicks` queue (one Redis connection), closed at
 * shutdown. A failed update is logged and left to the counter's
 * reconciliation (the counter is a gauge of the backlog, not a ledger).
 */
@Injectable()
export class ClickQueueCounter implements OnApplicationShutdown {
  private readonly logger = new Logger(ClickQueueCounter.name);
  private readonly warnings = new LogSummary(this.logger, 'click queue counter', 10_000);
  private readonly queue: Queue;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.queue = createQueue(config, QUEUES.clicks);
  }

  /** Subtracts `clicks`; never throws. */
  async remove(clicks: number): Promise<void> {
    await removeQueuedClicks(this.queue, clicks).catch((e: unknown) => {
      this.warnings.add(`not lowered by ${clicks}: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close().catch(() => undefined);
  }
}
