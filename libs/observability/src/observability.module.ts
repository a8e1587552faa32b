import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { ProcessLifecycle } from './health/process-lifecycle';
import { createLogger, ROOT_LOGGER } from './logging/logger';
import { MetricsService } from './metrics/metrics.service';

/** The process's root pino logger ({@link ROOT_LOGGER}), built from the config. */
@Module({
  providers: [{ provide: ROOT_LOGGER, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createLogger(config) }],
  exports: [ROOT_LOGGER],
})
export class RootLoggerModule {}

/**
 * Process-wide observability, one instance per process for every module
 * that imports it: the metrics registry ({@link MetricsService}), the root
 * pino logger (also Nest's logger, through nestjs-pino) and the lifecycle
 * state. The health probes are {@link HealthModule}'s; the management server
 * and the graceful shutdown are started by each app's bootstrap
 * (`startManagementServer`, `installGracefulShutdown`).
 */
@Module({
  imports: [
    RootLoggerModule,
    LoggerModule.forRootAsync({
      imports: [RootLoggerModule],
      inject: [ROOT_LOGGER],
      // No per-request middleware (it would run on the redirect hot path):
      // request lines come from the HTTP hooks; nestjs-pino serves Nest's logger.
      useFactory: (logger: Logger) => ({ pinoHttp: { logger }, forRoutes: [] }),
    }),
  ],
  providers: [MetricsService, ProcessLifecycle],
  exports: [MetricsService, ProcessLifecycle, RootLoggerModule],
})
export class ObservabilityModule {}
