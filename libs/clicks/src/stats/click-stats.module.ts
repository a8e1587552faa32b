import { Module } from '@nestjs/common';
import { LinksModule } from '@shortener/links';
import { LinkStatsController } from '../http/link-stats.controller';
import { VisitorHllStore } from '../visitors/visitor-hll.store';
import { LinkStatsService } from './link-stats.service';

/** The stats API: `GET /api/v1/links/{code}/stats`. Uses the links module's domains, pools and clock. */
@Module({
  imports: [LinksModule],
  controllers: [LinkStatsController],
  providers: [VisitorHllStore, LinkStatsService],
})
export class ClickStatsModule {}
