export * from './invalidation-bus';
export * from './redis-clients';
export * from './redis-keys';
export * from './redis.module';
