import { Module } from '@nestjs/common';
import { ClockModule } from '@shortener/http';
import { LinkRepositoryModule, ShortDomainsModule } from '@shortener/links';
import { LinkStatsController } from '../http/link-stats.controller';
import { ClickRepositoryModule } from '../persistence/click-repository.module';
import { VisitorsModule } from '../visitors/visitors.module';
import { LinkStatsService } from './link-stats.service';

/** The stats API: `GET /api/v1/links/{code}/stats`. */
@Module({
  imports: [ClockModule, ClickRepositoryModule, LinkRepositoryModule, ShortDomainsModule, VisitorsModule],
  controllers: [LinkStatsController],
  providers: [LinkStatsService],
})
export class ClickStatsModule {}
