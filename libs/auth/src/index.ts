export * from './api-key.authentication';
export * from './api-key.record';
export * from './api-key.format';
export * from './api-key.guard';
export * from './api-key.service';
export * from './auth.module';
export * from './principal';
