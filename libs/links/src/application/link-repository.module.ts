import { Module } from '@nestjs/common';
import { DatabaseModule } from '@shortener/database';
import { LinkRepository } from './link.repository';

/** The `links` table's one home ({@link LinkRepository}), for the links modules and the click pipeline's rollup, stats and housekeeping. */
@Module({
  imports: [DatabaseModule],
  providers: [LinkRepository],
  exports: [LinkRepository],
})
export class LinkRepositoryModule {}
