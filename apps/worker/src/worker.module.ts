import { DynamicModule, Module } from '@nestjs/common';
import { ClicksWorkerModule } from '@shortener/clicks';
import { AppConfig, ConfigModule } from '@shortener/config';
import { DatabaseModule } from '@shortener/database';
import { ObservabilityModule } from '@shortener/observability';
import { QueueModule, QueueWorkersModule } from '@shortener/queue';
import { RedisModule } from '@shortener/redis';

/**
 * The worker process: composes library modules only (logic lives in libs/).
 * BullMQ processors for every queue (QueueWorkersModule) dispatch to the job
 * handlers of ClicksWorkerModule; the boot fails unless every job of the
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
        ObservabilityModule,
        DatabaseModule.forRoot(),
        RedisModule,
        QueueModule.forRoot(),
        ClicksWorkerModule,
        QueueWorkersModule.forRoot(config),
      ],
    };
  }
}
