import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { escapeLiteral } from 'pg';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Captures the SQL every migration sends, so CI can lint it with squawk
 * (docs/design.md section 8) without trusting what a migration's source looks like.
 */

/** One `query(sql, parameters)` call made by a migration's `up`. */
export interface CapturedStatement {
  sql: string;
  parameters: readonly unknown[];
}

/** The SQL of one migration, in the order it was sent. */
export interface CapturedMigration {
  name: string;
  /** Whether the runner wraps it in a transaction (`transaction = false` opts out, e.g. for CONCURRENTLY). */
  transaction: boolean;
  statements: CapturedStatement[];
  /** How it was captured: by the recording runner (no database) or on a fresh database. */
  capturedWith: 'recording' | 'database';
}

/** A migration class as listed in `MIGRATIONS`. */
export type MigrationClass = new () => MigrationInterface;

/**
 * Thrown by the recording runner when a migration uses anything but
 * `query()` (TypeORM's schema builder, `connection`, `manager`, ...): its SQL
 * then depends on a live connection and is captured on a database instead.
 */
export class MigrationNeedsConnectionError extends Error {
  constructor(readonly member: string) {
    super(`the migration uses QueryRunner.${member}, which needs a real connection`);
    this.name = 'MigrationNeedsConnectionError';
  }
}

/** The migration's name as TypeORM records it (the `name` member, else the class name). */
export function migrationName(migration: MigrationInterface): string {
  return migration.name ?? migration.constructor.name;
}

/**
 * Whether the runner applies this migration inside a transaction. The runner
 * uses `transaction: 'each'` (migration-runner.ts), where TypeORM wraps every
 * migration unless it sets `transaction = false`.
 */
export function runsInTransaction(migration: MigrationInterface): boolean {
  return migration.transaction !== false;
}

/**
 * A QueryRunner that records `query()` calls and answers them with no rows.
 * Every other member throws {@link MigrationNeedsConnectionError}, so a
 * migration is never linted from a partial capture.
 */
export function createRecordingQueryRunner(statements: CapturedStatement[]): QueryRunner {
  const query = async (sql: string, parameters?: unknown[], useStructuredResult?: boolean): Promise<unknown> => {
    statements.push({ sql, parameters: parameters ?? [] });
    return useStructuredResult ? { records: [], raw: [], affected: 0 } : [];
  };
  return new Proxy({} as QueryRunner, {
    get(_target, member) {
      if (member === 'query') return query;
      // Symbols (inspection) and `then` (await on the runner) must not look like misuse.
      if (typeof member === 'symbol' || member === 'then') return undefined;
      throw new MigrationNeedsConnectionError(member);
    },
  });
}

/**
 * Runs a migration's `up` against the recording runner; no database needed.
 * @throws MigrationNeedsConnectionError when the migration needs a connection.
 */
export async function captureWithRecordingRunner(migration: MigrationInterface): Promise<CapturedMigration> {
  const statements: CapturedStatement[] = [];
  await migration.up(createRecordingQueryRunner(statements));
  return { name: migrationName(migration), transaction: runsInTransaction(migration), statements, capturedWith: 'recording' };
}

/**
 * Applies the migrations in order to `dataSource` (a fresh, empty database) and
 * records each one's `query()` calls, including those TypeORM's schema builder
 * makes. Each migration runs in a transaction unless it opts out, as in the
 * runner; BEGIN and COMMIT themselves are not recorded (squawk is told instead).
 */
export async function captureOnDatabase(dataSource: DataSource, migrations: readonly MigrationInterface[]): Promise<CapturedMigration[]> {
  const captured: CapturedMigration[] = [];
  for (const migration of migrations) {
    const runner = dataSource.createQueryRunner();
    const statements: CapturedStatement[] = [];
    const transaction = runsInTransaction(migration);
    try {
      if (transaction) await runner.startTransaction();
      const original = runner.query.bind(runner);
      // An instance property wins over the prototype method, so the schema builder's own calls are seen too.
      runner.query = ((sql: string, parameters?: unknown[], structured?: boolean) => {
        statements.push({ sql, parameters: parameters ?? [] });
        return original(sql, parameters, structured as true);
      }) as QueryRunner['query'];
      await migration.up(runner);
      runner.query = original;
      if (transaction) await runner.commitTransaction();
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
    captured.push({ name: migrationName(migration), transaction, statements, capturedWith: 'database' });
  }
  return captured;
}

/** Options of {@link captureMigrations}. */
export interface CaptureOptions {
  /**
   * Opens a DataSource on a fresh, empty database; used only when a migration
   * needs a connection. Without it such a migration fails the capture.
   */
  freshDatabase?: () => Promise<{ dataSource: DataSource; dispose: () => Promise<void> }>;
}

/**
 * Captures the SQL of every migration, in order. Uses the recording runner
 * when every migration only calls `query()`; otherwise replays all of them on
 * a fresh database (a later migration may depend on the schema an earlier one left).
 */
export async function captureMigrations(classes: readonly MigrationClass[], options: CaptureOptions = {}): Promise<CapturedMigration[]> {
  const recorded: CapturedMigration[] = [];
  for (const Migration of classes) {
    try {
      recorded.push(await captureWithRecordingRunner(new Migration()));
    } catch (error) {
      if (!(error instanceof MigrationNeedsConnectionError)) throw error;
      if (!options.freshDatabase) {
        throw new Error(`${migrationName(new Migration())}: ${error.message}; capture it on a fresh database (freshDatabase option)`, { cause: error });
      }
      const { dataSource, dispose } = await options.freshDatabase();
      try {
        return await captureOnDatabase(
          dataSource,
          classes.map((M) => new M()),
        );
      } finally {
        await dispose();
      }
    }
  }
  return recorded;
}

/** A parameter as a SQL literal, written as node-postgres would send it as text. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return Number.isFinite(Number(value)) ? String(value) : `'${String(value)}'`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return escapeLiteral(value.toISOString());
  if (Buffer.isBuffer(value)) return `'\\x${value.toString('hex')}'`;
  if (Array.isArray(value)) return escapeLiteral(arrayLiteral(value));
  if (typeof value === 'object') return escapeLiteral(JSON.stringify(value));
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were handled above: a string, symbol or function is left
  return escapeLiteral(String(value));
}

function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return arrayLiteral(v);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects go through JSON.stringify: String() sees only primitives
    const text = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${items.join(',')}}`;
}

/**
 * Replaces `$n` placeholders with literals so the file is plain SQL squawk can
 * parse. Placeholders inside quoted strings, quoted identifiers, dollar-quoted
 * bodies and comments are left alone.
 */
export function inlineParameters(sql: string, parameters: readonly unknown[]): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const rest = sql.slice(i);
    const skipped =
      /^'(?:[^']|'')*'/.exec(rest) ?? /^"(?:[^"]|"")*"/.exec(rest) ?? /^--[^\n]*/.exec(rest) ?? /^\/\*[\s\S]*?\*\//.exec(rest) ?? dollarQuoted(rest);
    if (skipped) {
      out += skipped[0];
      i += skipped[0].length;
      continue;
    }
    const placeholder = /^\$(\d+)/.exec(rest);
    if (placeholder) {
      const index = Number(placeholder[1]) - 1;
      if (index >= parameters.length) throw new Error(`placeholder ${placeholder[0]} has no parameter (got ${parameters.length})`);
      out += sqlLiteral(parameters[index]);
      i += placeholder[0].length;
      continue;
    }
    out += sql[i];
    i += 1;
  }
  return out;
}

function dollarQuoted(rest: string): RegExpExecArray | null {
  const open = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest);
  if (!open) return null;
  const close = rest.indexOf(open[0], open[0].length);
  if (close < 0) return null;
  const match = [rest.slice(0, close + open[0].length)] as unknown as RegExpExecArray;
  return match;
}

/** The table TypeORM records applied migrations in (data-source.options.ts). */
export const MIGRATIONS_TABLE = 'typeorm_migrations';

/**
 * The row TypeORM inserts for an applied migration, in the same transaction
 * as the migration's own statements. Part of the captured file because it is
 * part of what runs: squawk, for one, treats a lone statement as possibly
 * unwrapped and would miss CONCURRENTLY inside the runner's transaction.
 */
export function bookkeepingStatement(name: string, table = MIGRATIONS_TABLE): string {
  // TypeORM takes the timestamp from the name's last 13 characters and refuses a name without one.
  const timestamp = Number.parseInt(name.slice(-13), 10);
  if (!/^\d{13}$/.test(name.slice(-13))) throw new Error(`${name}: TypeORM needs a 13-digit timestamp at the end of a migration name`);
  return `INSERT INTO "${table}" ("timestamp", "name") VALUES (${timestamp}, ${escapeLiteral(name)})`;
}

/**
 * The migration as one SQL file, as the runner sends it: a header naming it
 * and its transaction mode, each statement with its parameters inlined and
 * terminated by `;`, then TypeORM's bookkeeping row. No BEGIN/COMMIT: squawk
 * is told per file whether the runner wraps it (`--assume-in-transaction`).
 */
export function renderMigrationSql(migration: CapturedMigration): string {
  const header = [
    `-- migration: ${migration.name}`,
    `-- transaction: ${migration.transaction ? 'yes (the runner wraps this file)' : 'no (transaction = false)'}`,
    `-- captured with: ${migration.capturedWith}`,
  ];
  const body = migration.statements.map((s) => `${dedent(inlineParameters(s.sql, s.parameters)).replace(/;\s*$/, '')};`);
  const bookkeeping = ['-- recorded by TypeORM after the statements above', `${bookkeepingStatement(migration.name)};`];
  return [...header, '', ...body.flatMap((b) => [b, '']), ...bookkeeping, ''].join('\n');
}

function dedent(sql: string): string {
  const lines = sql
    .replace(/^\s*\n/, '')
    .replace(/\s+$/, '')
    .split('\n');
  const indents = lines
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return [lines[0].trim(), ...lines.slice(1).map((l) => l.slice(Math.min(cut, /^ */.exec(l)![0].length)))].join('\n');
}

/** A written migration file. */
export interface MigrationSqlFile {
  name: string;
  transaction: boolean;
  path: string;
}

/**
 * Writes one `.sql` file per migration into `dir`, named with a zero-padded
 * position so they sort in migration order.
 */
export async function writeMigrationSqlFiles(dir: string, migrations: readonly CapturedMigration[]): Promise<MigrationSqlFile[]> {
  await mkdir(dir, { recursive: true });
  const files: MigrationSqlFile[] = [];
  for (const [index, migration] of migrations.entries()) {
    const file = path.join(dir, `${String(index + 1).padStart(4, '0')}-${migration.name}.sql`);
    await writeFile(file, renderMigrationSql(migration));
    files.push({ name: migration.name, transaction: migration.transaction, path: file });
  }
  return files;
}
