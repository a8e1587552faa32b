import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock, SystemClock } from '@shortener/common';
import { PgPools } from '@shortener/database';
import { IdempotencyService } from './application/idempotency.service';
import { LinkRepository } from './application/link.repository';
import { LinkService } from './application/link.service';
import { ShortDomains } from './application/short-domains';
import { TargetPolicyService } from './application/target-policy.service';
import { LinksController } from './http/links.controller';
import { LinkCacheService } from './redirect/link-cache.service';
import { RedirectRoute } from './redirect/redirect.route';
import { RedirectService } from './redirect/redirect.service';

/**
 * Links: the REST API, the redirect and its caches. The app that imports it
 * provides a {@link ClickRecorder} (the click pipeline).
 */
@Module({
  controllers: [LinksController],
  providers: [
    { provide: Clock, useClass: SystemClock },
    { provide: PgPools, inject: [DataSource], useFactory: (ds: DataSource) => new PgPools(ds) },
    ShortDomains,
    TargetPolicyService,
    LinkRepository,
    IdempotencyService,
    LinkCacheService,
    LinkService,
    RedirectService,
    RedirectRoute,
  ],
  exports: [LinkService, LinkCacheService, ShortDomains, TargetPolicyService, Clock, PgPools],
})
export class LinksModule {}
