export * from './data-source.options';
export * from './database-connector';
export * from './database.module';
export * from './migration/migration-runner';
export * from './migration/schema-compatibility';
export * from './migrations';
export * from './pg-pools';
export * from './deadline-pool';
