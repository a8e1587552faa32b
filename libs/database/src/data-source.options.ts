import { AppConfig } from '@shortener/config';
import { DataSourceOptions } from 'typeorm';
import { DEADLINE_PG_DRIVER } from './deadline-pool';
import { MIGRATIONS } from './migrations';

/**
 * TypeORM options for PostgreSQL from the config (docs/design.md section 7):
 * pool size per process, `statement_timeout` and
 * `idle_in_transaction_session_timeout` set on every connection, read
 * replicas through TypeORM replication when configured, pools whose
 * checkouts share the request's deadline ({@link DEADLINE_PG_DRIVER}). Never `synchronize`:
 * migrations are the only source of the schema.
 *
 * @param extraOptions extra libpq `options` (`-c key=value`), e.g. the migration runner's `lock_timeout`.
 */
export function dataSourceOptions(config: AppConfig, extraOptions: string[] = []): DataSourceOptions {
  const db = config.db;
  const options = [
    `-c statement_timeout=${db.statementTimeoutMs}`,
    `-c idle_in_transaction_session_timeout=${db.idleInTransactionTimeoutMs}`,
    ...extraOptions,
  ].join(' ');
  const extra = {
    max: db.poolSize,
    connectionTimeoutMillis: db.connectTimeoutMs,
    options,
    application_name: `shortener-${config.role}`,
  };
  const base = {
    type: 'postgres' as const,
    driver: DEADLINE_PG_DRIVER,
    // Each library registers its entities (TypeOrmModule.forFeature with autoLoadEntities); migrations need none.
    entities: [],
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra,
  };
  if (db.replicaUrls.length === 0) return { ...base, url: db.url };
  return { ...base, replication: { master: { url: db.url }, slaves: db.replicaUrls.map((url) => ({ url })) } };
}
