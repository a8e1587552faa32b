import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import Redis from 'ioredis';
import { InvalidationBus } from './invalidation-bus';
import { CACHE_REDIS, createCacheRedis } from './redis-clients';

/** The cache Redis client and the invalidation bus: one of each per process, for the modules that import this one. */
@Module({
  providers: [
    {
      provide: CACHE_REDIS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        const client = createCacheRedis(config);
        // Errors surface through failed commands and health checks; an
        // unhandled 'error' event would otherwise crash the process.
        client.on('error', () => undefined);
        return client;
      },
    },
    InvalidationBus,
  ],
  exports: [CACHE_REDIS, InvalidationBus],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(CACHE_REDIS) private readonly cache: Redis) {}

  onApplicationShutdown(): void {
    this.cache.disconnect();
  }
}
