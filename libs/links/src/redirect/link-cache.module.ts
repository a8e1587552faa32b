import { Module } from '@nestjs/common';
import { DatabaseModule } from '@shortener/database';
import { ObservabilityModule } from '@shortener/observability';
import { RedisModule } from '@shortener/redis';
import { LinkCacheService } from './link-cache.service';

/** The redirect's link cache ({@link LinkCacheService}): the in-process LRU, Redis and their invalidation. */
@Module({
  imports: [DatabaseModule, ObservabilityModule, RedisModule],
  providers: [LinkCacheService],
  exports: [LinkCacheService],
})
export class LinkCacheModule {}
