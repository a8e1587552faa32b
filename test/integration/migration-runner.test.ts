import { loadConfig } from '@shortener/config';
import { MIGRATIONS, MIGRATION_LOCK_KEY, MigrationLockTimeoutError, runMigrations } from '@shortener/database';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ADMIN_URL, databaseUrl, runId, workerId } from '../support/test-env';

const exec = promisify(execFile);

/** A fresh empty database per test, so each run starts from nothing. */
async function freshDatabase(suffix: string): Promise<string> {
  const name = `shortener_test_${runId()}_w${workerId()}_mig_${suffix}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return databaseUrl(name);
}

async function appliedMigrations(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ name: string }>('SELECT name FROM typeorm_migrations ORDER BY id');
    return rows.map((r) => r.name);
  } finally {
    await c.end();
  }
}

describe('migration runner', () => {
  it('applies each migration exactly once when two runs start together', async () => {
    const url = await freshDatabase('concurrent');
    const config = loadConfig('migrations', { DATABASE_URL: url, NODE_ENV: 'test' });
    const [a, b] = await Promise.all([runMigrations(config), runMigrations(config)]);
    const names = MIGRATIONS.map((m) => new m().name);
    expect([...a.applied, ...b.applied].sort()).toEqual([...names].sort());
    expect(await appliedMigrations(url)).toEqual(names);
  });

  it('fails after lock_timeout while another run holds the lock, then succeeds on retry', async () => {
    const url = await freshDatabase('locked');
    const config = loadConfig('migrations', { DATABASE_URL: url, NODE_ENV: 'test', MIGRATION_LOCK_TIMEOUT_MS: '300', MIGRATION_RETRIES: '0' });
    const holder = new Client({ connectionString: url });
    await holder.connect();
    await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const blocked = await runMigrations(config).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(MigrationLockTimeoutError);
    expect((blocked as Error).message).toBe('could not acquire a lock within lock_timeout=300 ms: another migration run or a long transaction holds it');
    expect(await appliedMigrations(url).catch(() => [])).toEqual([]);
    await holder.query('SELECT pg_advisory_unlock_all()');
    await holder.end();
    const retried = await runMigrations(config);
    expect(retried.applied).toEqual(MIGRATIONS.map((m) => new m().name));
  });

  it('runs as the compiled entry point and exits 0, then 0 again with nothing to do', async () => {
    const url = await freshDatabase('compiled');
    const entry = path.resolve(__dirname, '../../dist/libs/database/src/migration/migrate.main.js');
    const env = { ...process.env, DATABASE_URL: url, NODE_ENV: 'test' };
    const first = await exec(process.execPath, [entry], { env });
    expect(first.stdout).toContain(`"msg":"migrations applied: ${MIGRATIONS.length}"`);
    const second = await exec(process.execPath, [entry], { env });
    expect(second.stdout).toContain('"msg":"schema is up to date"');
  });

  it('exits non-zero with a clear message when the database is unreachable', async () => {
    const entry = path.resolve(__dirname, '../../dist/libs/database/src/migration/migrate.main.js');
    const env = { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', NODE_ENV: 'test' };
    const result = await exec(process.execPath, [entry], { env }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/"msg":"migration failed: connect ECONNREFUSED 127\.0\.0\.1:1"/);
  });
});
