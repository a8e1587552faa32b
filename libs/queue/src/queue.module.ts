import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { queueOptions } from './queue-connection.options';
import { ALL_QUEUES } from './queues.contract';

/**
 * BullMQ for the process through @nestjs/bullmq: the connection from
 * `REDIS_QUEUE_URL` with prefix `QUEUE_PREFIX`, and every queue of
 * {@link QUEUES} registered, so `@InjectQueue(QUEUES.x)` works anywhere.
 * @nestjs/bullmq closes the queues and workers on application shutdown
 * (workers finish their active jobs first).
 */
@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    const registered = BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name })));
    return {
      module: QueueModule,
      global: true,
      imports: [BullModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (config: AppConfig) => queueOptions(config) }), registered],
      exports: [registered],
    };
  }
}
