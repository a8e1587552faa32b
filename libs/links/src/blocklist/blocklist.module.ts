import { Global, Module } from '@nestjs/common';
import { BlocklistController } from './blocklist.controller';
import { BlocklistService } from './blocklist.service';

/**
 * The host blocklist and its admin API. Global: the links module's target
 * policy and redirect consult {@link BlocklistService}, so an app that
 * composes the links module imports this one too.
 */
@Global()
@Module({
  controllers: [BlocklistController],
  providers: [BlocklistService],
  exports: [BlocklistService],
})
export class BlocklistModule {}
