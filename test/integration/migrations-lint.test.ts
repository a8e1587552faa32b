import { MIGRATIONS } from '@shortener/database';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { DataSource, MigrationInterface, QueryRunner, TableColumn } from 'typeorm';
import { CaptureOptions, MigrationClass, captureMigrations, migrationName, writeMigrationSqlFiles } from '../../libs/database/src/migration/capture-sql';
import { lintMigrationSql } from '../../libs/database/src/migration/capture-sql.lint';
import { ADMIN_URL, databaseUrl, runId, workerId } from '../support/test-env';

/**
 * The migration SQL gate (docs/design.md section 8): every migration in
 * `MIGRATIONS` is captured and linted with squawk under `.squawk.toml`; the
 * deliberately bad migrations below prove the gate fails with the rule name.
 */
const SQUAWK_CONFIG = path.resolve(__dirname, '../../.squawk.toml');

let scratch = 0;
/** A fresh empty database for migrations that need a real connection; dropped afterwards. */
const freshDatabase: CaptureOptions['freshDatabase'] = async () => {
  scratch += 1;
  const name = `shortener_test_${runId()}_w${workerId()}_sqlcap_${scratch}`;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const dataSource = await new DataSource({ type: 'postgres', url: databaseUrl(name) }).initialize();
  return {
    dataSource,
    dispose: async () => {
      await dataSource.destroy();
      const drop = new Client({ connectionString: ADMIN_URL });
      await drop.connect();
      await drop.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await drop.end();
    },
  };
};

// Each bad migration runs after the real ones, on the tables they created.
class IndexWithoutConcurrently9000000000001 implements MigrationInterface {
  name = 'IndexWithoutConcurrently9000000000001';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX links_target_idx ON links (target)');
  }
  async down(): Promise<void> {}
}

class RequiredColumnWithoutDefault9000000000002 implements MigrationInterface {
  name = 'RequiredColumnWithoutDefault9000000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE links ADD COLUMN note text NOT NULL');
  }
  async down(): Promise<void> {}
}

class ConcurrentlyInsideTransaction9000000000003 implements MigrationInterface {
  name = 'ConcurrentlyInsideTransaction9000000000003';
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS links_target_idx ON links (target)');
  }
  async down(): Promise<void> {}
}

class ConcurrentlyOutsideTransaction9000000000004 implements MigrationInterface {
  name = 'ConcurrentlyOutsideTransaction9000000000004';
  transaction = false;
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS links_target_idx ON links (target)');
  }
  async down(): Promise<void> {}
}

class NotRerunnableOutsideTransaction9000000000005 implements MigrationInterface {
  name = 'NotRerunnableOutsideTransaction9000000000005';
  transaction = false;
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX CONCURRENTLY links_target_idx ON links (target)');
  }
  async down(): Promise<void> {}
}

/** Uses TypeORM's schema builder, so its SQL exists only on a live connection. */
class SchemaBuilderRequiredColumn9000000000006 implements MigrationInterface {
  name = 'SchemaBuilderRequiredColumn9000000000006';
  async up(q: QueryRunner): Promise<void> {
    await q.addColumn('links', new TableColumn({ name: 'note', type: 'text', isNullable: false }));
  }
  async down(): Promise<void> {}
}

describe('migration SQL lint (squawk)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'migrations-sql-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Captures the real migrations plus `extra`, lints them, and returns what squawk said about `extra`. */
  async function lintWith(label: string, extra: MigrationClass[] = []) {
    const classes = [...MIGRATIONS, ...extra];
    const captured = await captureMigrations(classes, { freshDatabase });
    const files = await writeMigrationSqlFiles(path.join(dir, label), captured);
    const result = await lintMigrationSql(files, { configPath: SQUAWK_CONFIG });
    const extraFiles = new Set(files.slice(MIGRATIONS.length).map((f) => f.path));
    const extraFindings = result.violations.filter((v) => extraFiles.has(v.file)).map((v) => `${path.basename(v.file)}:${v.line} ${v.rule}`);
    return { captured, files, result, extraFindings };
  }

  it('passes every migration MIGRATIONS lists', async () => {
    const { files, result } = await lintWith('current');
    expect(files.map((f) => f.name)).toEqual(MIGRATIONS.map((M) => migrationName(new M())));
    // The report names the file, line and rule of each violation, so a failure says what to fix.
    expect(result.report).toBe('');
  });

  it('fails a plain CREATE INDEX on an existing table with require-concurrent-index-creation', async () => {
    const { extraFindings } = await lintWith('index', [IndexWithoutConcurrently9000000000001]);
    const file = `${String(MIGRATIONS.length + 1).padStart(4, '0')}-IndexWithoutConcurrently9000000000001.sql`;
    // Line 5: the three header lines and a blank line come first.
    expect(extraFindings).toEqual([`${file}:5 require-concurrent-index-creation`]);
  });

  it('fails a NOT NULL column without a default with adding-required-field', async () => {
    const { extraFindings } = await lintWith('required', [RequiredColumnWithoutDefault9000000000002]);
    const file = `${String(MIGRATIONS.length + 1).padStart(4, '0')}-RequiredColumnWithoutDefault9000000000002.sql`;
    expect(extraFindings).toEqual([`${file}:5 adding-required-field`]);
  });

  it('fails CONCURRENTLY in a migration the runner wraps in a transaction', async () => {
    const { extraFindings } = await lintWith('concurrent-tx', [ConcurrentlyInsideTransaction9000000000003]);
    const file = `${String(MIGRATIONS.length + 1).padStart(4, '0')}-ConcurrentlyInsideTransaction9000000000003.sql`;
    expect(extraFindings).toEqual([`${file}:5 ban-concurrent-index-creation-in-transaction`]);
  });

  it('passes CONCURRENTLY IF NOT EXISTS in a migration with transaction = false', async () => {
    const { extraFindings, files } = await lintWith('concurrent-no-tx', [ConcurrentlyOutsideTransaction9000000000004]);
    expect(files.at(-1)?.transaction).toBe(false);
    expect(extraFindings).toEqual([]);
  });

  it('fails a concurrent index build that cannot be rerun after a partial failure', async () => {
    const { extraFindings } = await lintWith('concurrent-no-rerun', [NotRerunnableOutsideTransaction9000000000005]);
    const file = `${String(MIGRATIONS.length + 1).padStart(4, '0')}-NotRerunnableOutsideTransaction9000000000005.sql`;
    expect(extraFindings).toEqual([`${file}:5 prefer-robust-stmts`]);
  });

  it('captures a schema-builder migration on a fresh database and still finds its violation', async () => {
    const { captured, files, extraFindings } = await lintWith('schema-builder', [SchemaBuilderRequiredColumn9000000000006]);
    expect(captured.map((m) => m.capturedWith)).toEqual(captured.map(() => 'database'));
    const sql = await readFile(files.at(-1)!.path, 'utf8');
    expect(sql).toContain('ALTER TABLE "links" ADD "note" text NOT NULL;');
    expect(extraFindings.map((f) => f.replace(/^.*:\d+ /, ''))).toEqual(['adding-required-field']);
  });
});
