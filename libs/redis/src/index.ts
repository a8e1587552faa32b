export * from './invalidation-bus';
export * from './redis-clients';
export * from './redis.module';
