import { Module } from '@nestjs/common';
import { ClockModule } from '@shortener/http';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { DatabaseModule } from '@shortener/database';
import { IdempotencyModule, LinkRepositoryModule } from '@shortener/links';
import { ObservabilityModule } from '@shortener/observability';
import { QueuesModule } from '@shortener/queue';
import { HousekeepingHandler } from './housekeeping/housekeeping.handler';
import { MaintenanceScheduleService } from './housekeeping/maintenance-schedule.service';
import { ClickBatchHandler } from './rollup/click-batch.handler';
import { ClickQueueCounter } from './rollup/click-queue.counter';
import { ClickCommitCoalescer } from './rollup/click-commit.coalescer';
import { ClickRollupService } from './rollup/click-rollup.service';
import { ClickRepositoryModule } from './persistence/click-repository.module';
import { VisitorsModule } from './visitors/visitors.module';

/**
 * The click pipeline's worker side: the `click-batch` rollup handler (with
 * its group commit), the `housekeeping` handler (click batch ids, purged
 * analytics of deleted links, and the links library's idempotency-key
 * pruning) and the maintenance schedules.
 */
@Module({
  imports: [ClockModule, DatabaseModule, ObservabilityModule, QueuesModule, VisitorsModule, ClickRepositoryModule, LinkRepositoryModule, IdempotencyModule],
  providers: [
    ClickRollupService,
    {
      provide: ClickCommitCoalescer,
      inject: [ClickRollupService, APP_CONFIG],
      useFactory: (rollup: ClickRollupService, config: AppConfig) =>
        new ClickCommitCoalescer((batches) => rollup.commitBatches(batches), {
          minIntervalMs: config.worker.clickCommitIntervalMs,
          maxBatches: config.worker.concurrency,
        }),
    },
    ClickQueueCounter,
    ClickBatchHandler,
    HousekeepingHandler,
    MaintenanceScheduleService,
  ],
})
export class ClicksWorkerModule {}
