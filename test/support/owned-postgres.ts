import { loadConfig } from '@shortener/config';
import { runMigrations } from '@shortener/database';
import { Client } from 'pg';
import { OwnedPostgres, startOwnedPostgres } from './owned-services';

/** The database a drill's apps use on their own cluster. */
export const DRILL_DATABASE = 'shortener';

/** A migrated PostgreSQL 15 cluster owned by one drill (fault drills harm only what they own). */
export interface MigratedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/shortener`: the migrated database, as the superuser. */
  url: string;
  port: number;
  /** The cluster itself (stop, start). */
  cluster: OwnedPostgres;
  /** Stops the cluster and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts a PostgreSQL 15 cluster for one drill ({@link startOwnedPostgres}: a
 * fresh temp data directory owned by the `postgres` OS user, a free port,
 * 127.0.0.1 only, trust authentication), creates {@link DRILL_DATABASE} and
 * applies the project's migrations to it as the global setup does for the
 * shared test databases. `maxConnections` sets `max_connections` (PostgreSQL
 * keeps `superuser_reserved_connections`, 3, of them for superusers; the
 * drills connect as the superuser, so every slot is theirs to fill).
 *
 * @throws when initdb, the start or a migration fails (the cluster is removed first).
 */
export async function startMigratedPostgres(options: { maxConnections?: number } = {}): Promise<MigratedPostgres> {
  const cluster = await startOwnedPostgres(options.maxConnections ? { max_connections: options.maxConnections } : {});
  const url = cluster.url(DRILL_DATABASE);
  try {
    const admin = new Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DRILL_DATABASE}`);
    } finally {
      await admin.end();
    }
    await runMigrations(loadConfig('migrations', { DATABASE_URL: url, NODE_ENV: 'test' }));
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return { url, port: cluster.port, cluster, stop: () => cluster.destroy() };
}
