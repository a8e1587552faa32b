import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics/metrics.service';

/** Process-wide observability providers: the one metrics registry. */
@Global()
@Module({ providers: [MetricsService], exports: [MetricsService] })
export class ObservabilityModule {}
