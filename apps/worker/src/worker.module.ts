import { DynamicModule, Module } from '@nestjs/common';
import { ClicksWorkerModule } from '@shortener/clicks';
import { LinksWorkerModule } from '@shortener/links';
import { AppConfig, ConfigModule } from '@shortener/config';
import { DatabaseConnectionModule } from '@shortener/database';
import { HealthModule, ObservabilityModule } from '@shortener/observability';
import { QueueConnectionModule, QueueWorkersModule } from '@shortener/queue';

/**
 * The worker process: composes library modules only (logic lives in libs/).
 * BullMQ processors for every queue (QueueWorkersModule) dispatch to the job
 * handlers of LinksWorkerModule and ClicksWorkerModule; the boot fails unless every job of the
 * contract has exactly one handler. No HTTP server here: the management
 * server (health, metrics on 9465) is composed beside these modules.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseConnectionModule.forRoot(),
        QueueConnectionModule.forRoot(),
        ObservabilityModule,
        HealthModule,
        LinksWorkerModule,
        ClicksWorkerModule,
        QueueWorkersModule.forRoot(config),
      ],
    };
  }
}
