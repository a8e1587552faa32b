export * from './metrics/metric-names';
export * from './metrics/metrics.service';
export * from './observability.module';
