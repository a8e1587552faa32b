import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseModule } from '@shortener/database';
import { RedisModule } from '@shortener/redis';
import { ObservabilityModule } from '../observability.module';
import { HealthService } from './health.service';

/**
 * The liveness, readiness and startup probes ({@link HealthService},
 * @nestjs/terminus) over the process's PostgreSQL, cache Redis, queue Redis
 * and invalidation bus. Both apps import it; the management server serves it.
 */
@Module({
  // Probe failures are reported in the probe body and metrics, not logged on every probe.
  imports: [TerminusModule.forRoot({ logger: false }), ObservabilityModule, DatabaseModule, RedisModule],
  providers: [HealthService],
  exports: [HealthService],
})
export class HealthModule {}
