import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { LogSummary } from '@shortener/observability';
import { HOUSEKEEPING_INTERVAL_MS, JOBS, MAINTENANCE_JOB_OPTIONS, MAINTENANCE_SCHEDULERS, QUEUES } from '@shortener/queue';
import { Queue } from 'bullmq';
import { ExponentialBackoff, handleAll, retry } from 'cockatiel';

/** Backoff (ms) of a schedule declaration the queue Redis refused: first delay, longest delay. */
export const SCHEDULE_RETRY_INITIAL_MS = 250;
export const SCHEDULE_RETRY_MAX_MS = 10_000;
const SCHEDULE_LOG_SUMMARY_MS = 10_000;

/**
 * Declares the maintenance schedules with BullMQ job schedulers at every
 * worker boot: `expiry-sweep` every `EXPIRY_INTERVAL_MS` and `housekeeping`
 * every {@link HOUSEKEEPING_INTERVAL_MS}. `upsertJobScheduler` with a fixed
 * scheduler id is idempotent across processes: BullMQ keeps one scheduler per
 * id and one delayed job per tick, so a tick runs once however many workers
 * there are (and a new interval replaces the old one).
 *
 * The declaration runs in the background: the boot never waits for the
 * queue Redis (its commands wait for a connection), and a declaration Redis
 * refuses is retried with a jittered backoff ({@link SCHEDULE_RETRY_INITIAL_MS}
 * to {@link SCHEDULE_RETRY_MAX_MS}) until it succeeds or the process stops.
 */
@Injectable()
export class MaintenanceScheduleService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MaintenanceScheduleService.name);
  private readonly abort = new AbortController();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
  ) {}

  onApplicationBootstrap(): void {
    const failures = new LogSummary(this.logger, 'maintenance schedule declaration failed, retrying', SCHEDULE_LOG_SUMMARY_MS);
    const policy = retry(handleAll, {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({ initialDelay: SCHEDULE_RETRY_INITIAL_MS, maxDelay: SCHEDULE_RETRY_MAX_MS }),
    }).dangerouslyUnref();
    policy.onRetry((reason) => {
      failures.add('error' in reason ? reason.error.message : 'refused');
    });
    policy
      .execute(async ({ signal }) => {
        if (!signal.aborted) await this.declare();
      }, this.abort.signal)
      .catch(() => undefined); // only after shutdown aborted the retries
  }

  onApplicationShutdown(): void {
    this.abort.abort();
  }

  private async declare(): Promise<void> {
    await this.queue.upsertJobScheduler(
      MAINTENANCE_SCHEDULERS.expirySweep,
      { every: this.config.worker.expiryIntervalMs },
      { name: JOBS.expirySweep.name, data: {}, opts: MAINTENANCE_JOB_OPTIONS },
    );
    await this.queue.upsertJobScheduler(
      MAINTENANCE_SCHEDULERS.housekeeping,
      { every: HOUSEKEEPING_INTERVAL_MS },
      { name: JOBS.housekeeping.name, data: {}, opts: MAINTENANCE_JOB_OPTIONS },
    );
  }
}
