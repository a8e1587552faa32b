import { Module } from '@nestjs/common';
import { ClockModule } from '@shortener/http';
import { LinkRepositoryModule } from './application/link-repository.module';
import { ExpirySweepHandler } from './lifecycle/expiry-sweep.handler';
import { LinkCacheModule } from './redirect/link-cache.module';

/**
 * Links in the worker process: the link lifecycle's jobs, today the
 * `expiry-sweep` handler (the worker app's queue workers dispatch to it).
 * Idempotency keys are pruned by the housekeeping job through
 * `IdempotencyModule`.
 */
@Module({
  imports: [ClockModule, LinkRepositoryModule, LinkCacheModule],
  providers: [ExpirySweepHandler],
})
export class LinksWorkerModule {}
