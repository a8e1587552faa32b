export * from './client-address';
export * from './http-hardening';
export * from './rate-limit.service';
export * from './ratelimit-headers';
export * from './redirect-rate-limiter';
export * from './security.module';
export * from './http-limits';
export * from './download-slots';
