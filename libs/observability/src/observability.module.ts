import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { HealthService } from './health/health.service';
import { ProcessLifecycle } from './health/process-lifecycle';
import { createLogger, ROOT_LOGGER } from './logging/logger';
import { MetricsService } from './metrics/metrics.service';

/**
 * Process-wide observability providers, composed by both apps: the one
 * metrics registry, the root pino logger (also Nest's logger, through
 * nestjs-pino), the lifecycle state and the health probes (@nestjs/terminus).
 * The management server and the graceful shutdown are started by each
 * app's bootstrap (`startManagementServer`, `installGracefulShutdown`).
 */
@Global()
@Module({
  imports: [
    // Probe failures are reported in the probe body and metrics, not logged on every probe.
    TerminusModule.forRoot({ logger: false }),
    LoggerModule.forRootAsync({
      inject: [ROOT_LOGGER],
      // No per-request middleware (it would run on the redirect hot path):
      // request lines come from the HTTP hooks; nestjs-pino serves Nest's logger.
      useFactory: (logger: Logger) => ({ pinoHttp: { logger }, forRoutes: [] }),
    }),
  ],
  providers: [
    MetricsService,
    ProcessLifecycle,
    HealthService,
    { provide: ROOT_LOGGER, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createLogger(config) },
  ],
  exports: [MetricsService, ProcessLifecycle, HealthService, ROOT_LOGGER],
})
export class ObservabilityModule {}
