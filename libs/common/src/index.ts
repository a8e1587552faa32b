/** Framework-free building blocks (errors, clock, deadlines, batching, hashing, runtime, logging): no Nest, Fastify or storage driver. */
export * from './crypto/hmac-sha256';
export * from './errors/domain-error';
export * from './errors/problem-types';
export * from './time/clock';
export * from './deadline/request-deadline';
export * from './batching/batcher';
export * from './runtime/heap-growth';
export * from './logging/log-summary';
