import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { HOUSEKEEPING_INTERVAL_MS, JOBS, MAINTENANCE_JOB_OPTIONS, MAINTENANCE_SCHEDULERS, QUEUES } from '@shortener/queue';
import { Queue } from 'bullmq';

/**
 * Declares the maintenance schedules with BullMQ job schedulers at every
 * worker boot: `expiry-sweep` every `EXPIRY_INTERVAL_MS` and `housekeeping`
 * every {@link HOUSEKEEPING_INTERVAL_MS}. `upsertJobScheduler` with a fixed
 * scheduler id is idempotent across processes: BullMQ keeps one scheduler per
 * id and one delayed job per tick, so a tick runs once however many workers
 * there are (and a new interval replaces the old one).
 */
@Injectable()
export class MaintenanceScheduleService implements OnApplicationBootstrap {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectQueue(QUEUES.maintenance) private readonly queue: Queue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
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
