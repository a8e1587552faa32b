import { AppConfig } from '@shortener/config';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../data-source.options';

/** Advisory lock key shared by every migration run of this product (arbitrary, fixed). */
export const MIGRATION_LOCK_KEY = 7_391_044_201;

/** Thrown when the migration lock or a table lock is not acquired within `lock_timeout`. */
export class MigrationLockTimeoutError extends Error {
  constructor(readonly lockTimeoutMs: number, cause: unknown) {
    super(
      `could not acquire a lock within lock_timeout=${lockTimeoutMs} ms: another migration run or a long transaction holds it`,
    );
    this.name = 'MigrationLockTimeoutError';
    this.cause = cause;
  }
}

/** What a run did. */
export interface MigrationRunResult {
  /** Names of the migrations applied by this run, in order (empty when up to date). */
  applied: string[];
  attempts: number;
}

const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Applies pending migrations once per release (docs/design.md section 8).
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
export async function runMigrations(
  config: AppConfig,
  log: (message: string) => void = () => undefined,
): Promise<MigrationRunResult> {
  const lockTimeoutMs = config.db.migrationLockTimeoutMs;
  let attempt = 0;
  for (;;) {
    attempt += 1;
    try {
      const applied = await runOnce(config, lockTimeoutMs, log);
      return { applied, attempts: attempt };
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

async function runOnce(config: AppConfig, lockTimeoutMs: number, log: (m: string) => void): Promise<string[]> {
  const lockClient = new Client({
    connectionString: config.db.url,
    connectionTimeoutMillis: config.db.connectTimeoutMs,
    application_name: 'shortener-migrations-lock',
  });
  await lockClient.connect();
  try {
    await acquireAdvisoryLock(lockClient, lockTimeoutMs);
    // DDL gets lock_timeout too, and no statement_timeout: an index build may take long.
    const options = dataSourceOptions({ ...config, db: { ...config.db, replicaUrls: [], poolSize: 1, statementTimeoutMs: 0 } }, [
      `-c lock_timeout=${lockTimeoutMs}`,
    ]);
    const dataSource = new DataSource(options);
    await dataSource.initialize();
    try {
      const migrations = await dataSource.runMigrations({ transaction: 'each' });
      for (const m of migrations) log(`applied ${m.name}`);
      return migrations.map((m) => m.name);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await lockClient.end();
  }
}
