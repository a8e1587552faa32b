import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@shortener/observability';
import { RedisModule } from '@shortener/redis';
import { LinkRepositoryModule } from '../application/link-repository.module';
import { LinkCacheService } from './link-cache.service';

/** The redirect's link cache ({@link LinkCacheService}): the in-process LRU, Redis and their invalidation. */
@Module({
  imports: [LinkRepositoryModule, ObservabilityModule, RedisModule],
  providers: [LinkCacheService],
  exports: [LinkCacheService],
})
export class LinkCacheModule {}
