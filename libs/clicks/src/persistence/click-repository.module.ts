import { Module } from '@nestjs/common';
import { DatabaseModule } from '@shortener/database';
import { ClickRepository } from './click.repository';

/** The click tables' one home ({@link ClickRepository}): for the rollup, the stats and housekeeping. */
@Module({
  imports: [DatabaseModule],
  providers: [ClickRepository],
  exports: [ClickRepository],
})
export class ClickRepositoryModule {}
