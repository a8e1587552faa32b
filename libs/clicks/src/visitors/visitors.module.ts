import { Module } from '@nestjs/common';
import { RedisModule } from '@shortener/redis';
import { VisitorHllStore } from './visitor-hll.store';

/** The unique-visitor HyperLogLogs in the cache Redis ({@link VisitorHllStore}): written by the rollup, read by the stats. */
@Module({
  imports: [RedisModule],
  providers: [VisitorHllStore],
  exports: [VisitorHllStore],
})
export class VisitorsModule {}
