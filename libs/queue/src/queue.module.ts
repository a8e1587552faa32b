import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { queueOptions } from './queue-connection.options';
import { ALL_QUEUES } from './queues.contract';

/**
 * BullMQ's connection for the process through @nestjs/bullmq, imported once
 * by the worker app: `REDIS_QUEUE_URL` with prefix `QUEUE_PREFIX`.
 * @nestjs/bullmq closes the queues and workers on application shutdown
 * (workers finish their active jobs first).
 */
@Module({})
export class QueueConnectionModule {
  static forRoot(): DynamicModule {
    return {
      module: QueueConnectionModule,
      imports: [BullModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => queueOptions(config) })],
    };
  }
}

const REGISTERED_QUEUES = BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name })));

/**
 * Every queue of {@link QUEUES}, for `@InjectQueue(QUEUES.x)` in the modules
 * that import this one (one `Queue` per name in the process). Needs
 * {@link QueueConnectionModule} in the app.
 */
@Module({
  imports: [REGISTERED_QUEUES],
  exports: [REGISTERED_QUEUES],
})
export class QueuesModule {}
