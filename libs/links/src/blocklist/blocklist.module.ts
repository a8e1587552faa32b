import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatabaseModule } from '@shortener/database';
import { ObservabilityModule } from '@shortener/observability';
import { RedisModule } from '@shortener/redis';
import { BlockedHostEntity } from './blocked-host.entity';
import { BlocklistController } from './blocklist.controller';
import { BlocklistService } from './blocklist.service';

/** The host blocklist (consulted by the target policy and the redirect) and its admin API. */
@Module({
  imports: [TypeOrmModule.forFeature([BlockedHostEntity]), DatabaseModule, ObservabilityModule, RedisModule],
  controllers: [BlocklistController],
  providers: [BlocklistService],
  exports: [BlocklistService],
})
export class BlocklistModule {}
