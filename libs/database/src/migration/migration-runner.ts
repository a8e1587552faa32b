import { AppConfig } from '@shortener/config';
import { Client, defaults as pgDefaults, escapeIdentifier } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source.options';

/** Advisory lock key shared by every migration run of this product (arbitrary, fixed). */
export const MIGRATION_LOCK_KEY = 7_391_044_201;

/** Thrown when the migration lock or a table lock is not acquired within `lock_timeout`. */
export class MigrationLockTimeoutError extends Error {
  constructor(
    readonly lockTimeoutMs: number,
    cause: unknown,
  ) {
    super(`could not acquire a lock within lock_timeout=${lockTimeoutMs} ms: another migration run or a long transaction holds it`);
    this.name = 'MigrationLockTimeoutError';
    this.cause = cause;
  }
}

/** What a run did. */
export interface MigrationRunResult {
  /** Names of the migrations applied by this run, in order (empty when up to date). */
  applied: string[];
  attempts: number;
  /** The app role granted its rights ({@link grantAppRole}); null when there was none to grant (see the log). */
  grantedTo: string | null;
}

/**
 * The role a PostgreSQL URL logs in as: its user name, else node-postgres'
 * default (`PGUSER`, else the operating system user), as the apps would connect.
 */
export function roleOfUrl(url: string): string {
  const user = decodeURIComponent(new URL(url).username);
  return user || String(pgDefaults.user);
}

/**
 * Grants the app role (the user of `DATABASE_URL`) what the API and the
 * worker need in the migrated schema, as the owner role the runner connects
 * as (`DATABASE_MIGRATION_URL`): USAGE on the schema; SELECT, INSERT, UPDATE,
 * DELETE on its tables; USAGE, SELECT on its sequences; and, through ALTER
 * DEFAULT PRIVILEGES, the same on tables and sequences the owner creates
 * later. Never DDL, TRUNCATE or ownership. Idempotent: every run grants again,
 * so a role created after an earlier run gets its rights at the next one.
 * Takes CREATE on the schema away from PUBLIC and the app role when the owner
 * owns the schema (PostgreSQL 15 never grants it; older versions do to PUBLIC).
 *
 * Nothing is granted (and the reason logged) when the app role is the owner
 * itself, does not exist, or is a superuser.
 *
 * @param query runs one statement as the owner role
 * @returns the role granted, or null
 */
export async function grantAppRole(
  query: (sql: string, parameters?: unknown[]) => Promise<any[]>,
  appRole: string,
  log: (message: string) => void,
): Promise<string | null> {
  const [here] = await query(
    `SELECT current_user AS owner, current_schema() AS schema, current_database() AS database,
            pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE nspname = current_schema()), 'USAGE') AS owns_schema`,
  );
  const { owner, schema, database, owns_schema: ownsSchema } = here as { owner: string; schema: string; database: string; owns_schema: boolean };
  if (appRole === owner) {
    log(`DATABASE_URL connects as the owner role ${owner}: nothing to grant (set DATABASE_MIGRATION_URL and a DATABASE_URL role without DDL rights)`);
    return null;
  }
  const [role] = await query(`SELECT rolsuper FROM pg_roles WHERE rolname = $1`, [appRole]);
  if (!role) {
    log(`the app role ${appRole} (DATABASE_URL) does not exist: nothing granted; create it (LOGIN, no superuser) and migrate again`);
    return null;
  }
  if ((role as { rolsuper: boolean }).rolsuper) {
    log(`the app role ${appRole} (DATABASE_URL) is a superuser: nothing granted; give the apps a role without DDL rights`);
    return null;
  }
  const app = escapeIdentifier(appRole);
  const s = escapeIdentifier(schema);
  for (const sql of [
    `GRANT CONNECT ON DATABASE ${escapeIdentifier(database)} TO ${app}`,
    `GRANT USAGE ON SCHEMA ${s} TO ${app}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${app}`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${app}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${app}`,
    ...(ownsSchema ? [`REVOKE CREATE ON SCHEMA ${s} FROM PUBLIC, ${app}`] : []),
  ]) {
    await query(sql);
  }
  const [check] = await query(`SELECT has_schema_privilege($1, $2, 'CREATE') AS can_create`, [appRole, schema]);
  if ((check as { can_create: boolean }).can_create) {
    log(`the app role ${appRole} may still create objects in schema ${schema}: REVOKE CREATE ON SCHEMA ${schema} FROM PUBLIC (as the schema's owner)`);
  }
  log(`granted the app role ${appRole} row access in schema ${schema} (owner ${owner})`);
  return appRole;
}

const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Applies pending migrations once per release (docs/design.md section 8),
 * connected as the owner role (`config.db.migrationUrl`), then grants the
 * app role its rights ({@link grantAppRole}).
 *
 * A session-level advisory lock on a direct connection makes concurrent runs
 * wait for each other, so each migration is applied exactly once; `lock_timeout`
 * bounds every lock wait (the advisory lock and the DDL's table locks) so a
 * migration never queues behind a long transaction and blocks traffic; a lock
 * timeout is retried with exponential backoff, `config.db.migrationRetries` times.
 * Migrations with `transaction = false` (e.g. `CREATE INDEX CONCURRENTLY`) run
 * outside a transaction; the others each in their own.
 *
 * @throws MigrationLockTimeoutError when every attempt timed out on a lock.
 * @throws the migration's own error (SQL errors) at once, without retry.
 */
export async function runMigrations(config: AppConfig, log: (message: string) => void = () => undefined): Promise<MigrationRunResult> {
  const lockTimeoutMs = config.db.migrationLockTimeoutMs;
  let attempt = 0;
  for (;;) {
    attempt += 1;
    try {
      const { applied, grantedTo } = await runOnce(config, lockTimeoutMs, log);
      return { applied, attempts: attempt, grantedTo };
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as { driverError?: { code?: string } }).driverError?.code;
      if (code !== LOCK_NOT_AVAILABLE) throw error;
      if (attempt > config.db.migrationRetries) throw new MigrationLockTimeoutError(lockTimeoutMs, error);
      const backoffMs = Math.min(30_000, 500 * 2 ** (attempt - 1));
      log(`lock not acquired within ${lockTimeoutMs} ms (attempt ${attempt}); retrying in ${backoffMs} ms`);
      await new Promise((r) => setTimeout(r, backoffMs));
    }
  }
}

/**
 * Waits for the migration advisory lock by polling `pg_try_advisory_lock`, so
 * a waiting run holds no snapshot between tries: a blocked `pg_advisory_lock`
 * call is a running statement, and `CREATE INDEX CONCURRENTLY` in the run
 * that holds the lock would wait for it (until lock_timeout). Gives up after
 * `lockTimeoutMs` with SQLSTATE 55P03, as lock_timeout does.
 */
async function acquireAdvisoryLock(client: Client, lockTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + lockTimeoutMs;
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK_KEY]);
    if (rows[0].locked) return;
    const left = deadline - Date.now();
    if (left <= 0) throw Object.assign(new Error('canceling statement due to lock timeout'), { code: LOCK_NOT_AVAILABLE });
    await new Promise((r) => setTimeout(r, Math.min(100, left)));
  }
}

async function runOnce(config: AppConfig, lockTimeoutMs: number, log: (m: string) => void): Promise<{ applied: string[]; grantedTo: string | null }> {
  const lockClient = new Client({
    connectionString: config.db.migrationUrl,
    connectionTimeoutMillis: config.db.connectTimeoutMs,
    application_name: 'shortener-migrations-lock',
  });
  await lockClient.connect();
  try {
    await acquireAdvisoryLock(lockClient, lockTimeoutMs);
    // DDL gets lock_timeout too, and no statement_timeout: an index build may take long.
    const options = dataSourceOptions({ ...config, db: { ...config.db, url: config.db.migrationUrl, replicaUrls: [], poolSize: 1, statementTimeoutMs: 0 } }, [
      `-c lock_timeout=${lockTimeoutMs}`,
    ]);
    const dataSource = new DataSource(options);
    await dataSource.initialize();
    try {
      const migrations = await dataSource.runMigrations({ transaction: 'each' });
      for (const m of migrations) log(`applied ${m.name}`);
      const grantedTo = await grantAppRole((sql, parameters) => dataSource.query(sql, parameters), roleOfUrl(config.db.url), log);
      return { applied: migrations.map((m) => m.name), grantedTo };
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await lockClient.end();
  }
}
