import { MigrationInterface, QueryRunner, Table } from 'typeorm';
import {
  CapturedMigration,
  MigrationNeedsConnectionError,
  captureMigrations,
  captureWithRecordingRunner,
  createRecordingQueryRunner,
  inlineParameters,
  bookkeepingStatement,
  renderMigrationSql,
  runsInTransaction,
  sqlLiteral,
} from './capture-sql';

class TwoStatements1700000000000 implements MigrationInterface {
  name = 'TwoStatements1700000000000';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        body text NOT NULL
      )`);
    await q.query('INSERT INTO notes (body) VALUES ($1);', ["it's"]);
  }
  async down(): Promise<void> {}
}

class Concurrent1700000000001 implements MigrationInterface {
  transaction = false;
  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_body_idx ON notes (body)');
  }
  async down(): Promise<void> {}
}

class SchemaBuilder1700000000002 implements MigrationInterface {
  name = 'SchemaBuilder1700000000002';
  async up(q: QueryRunner): Promise<void> {
    await q.createTable(new Table({ name: 'x', columns: [{ name: 'id', type: 'bigint' }] }));
  }
  async down(): Promise<void> {}
}

describe(captureWithRecordingRunner.name, () => {
  it('records each query with its parameters, in order, and the transaction mode', async () => {
    const sut = await captureWithRecordingRunner(new TwoStatements1700000000000());
    expect(sut.name).toBe('TwoStatements1700000000000');
    expect(sut.transaction).toBe(true);
    expect(sut.capturedWith).toBe('recording');
    expect(sut.statements.map((s) => s.parameters)).toEqual([[], ["it's"]]);
    expect(sut.statements[1].sql).toBe('INSERT INTO notes (body) VALUES ($1);');
  });

  it('names a migration without a name member by its class, and honours transaction = false', async () => {
    const sut = await captureWithRecordingRunner(new Concurrent1700000000001());
    expect(sut.name).toBe('Concurrent1700000000001');
    expect(sut.transaction).toBe(false);
  });

  it('refuses the schema builder, which needs a real connection', async () => {
    const error = await captureWithRecordingRunner(new SchemaBuilder1700000000002()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationNeedsConnectionError);
    expect((error as Error).message).toBe('the migration uses QueryRunner.createTable, which needs a real connection');
  });

  it('captures migrations that only call query() without a database, in order', async () => {
    const sut = await captureMigrations([TwoStatements1700000000000, Concurrent1700000000001]);
    expect(sut.map((m) => [m.name, m.transaction, m.capturedWith, m.statements.length])).toEqual([
      ['TwoStatements1700000000000', true, 'recording', 2],
      ['Concurrent1700000000001', false, 'recording', 1],
    ]);
  });
});

describe(createRecordingQueryRunner.name, () => {
  it('answers queries with no rows, plain or structured, and is not a thenable', async () => {
    const statements: { sql: string; parameters: readonly unknown[] }[] = [];
    const sut = createRecordingQueryRunner(statements);
    expect(await sut.query('SELECT 1')).toEqual([]);
    expect(await sut.query('SELECT 2', [], true)).toEqual({ records: [], raw: [], affected: 0 });
    expect((sut as unknown as { then?: unknown }).then).toBeUndefined();
    expect(statements).toEqual([
      { sql: 'SELECT 1', parameters: [] },
      { sql: 'SELECT 2', parameters: [] },
    ]);
  });

  it('throws for any member but query', () => {
    const sut = createRecordingQueryRunner([]);
    expect(() => sut.connection).toThrow('the migration uses QueryRunner.connection, which needs a real connection');
  });
});

describe(captureMigrations.name, () => {
  it('says which migration needs a database when none is offered', async () => {
    const error = await captureMigrations([TwoStatements1700000000000, SchemaBuilder1700000000002]).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'SchemaBuilder1700000000002: the migration uses QueryRunner.createTable, which needs a real connection; capture it on a fresh database (freshDatabase option)',
    );
  });
});

describe(runsInTransaction.name, () => {
  it('is true unless the migration opts out', () => {
    expect(runsInTransaction(new TwoStatements1700000000000())).toBe(true);
    expect(runsInTransaction(new Concurrent1700000000001())).toBe(false);
  });
});

describe(sqlLiteral.name, () => {
  it('writes values as node-postgres sends them as text', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(undefined)).toBe('NULL');
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(10n)).toBe('10');
    expect(sqlLiteral(Number.NaN)).toBe("'NaN'");
    expect(sqlLiteral(true)).toBe('true');
    expect(sqlLiteral("o'clock")).toBe("'o''clock'");
    expect(sqlLiteral('back\\slash')).toBe(" E'back\\\\slash'");
    expect(sqlLiteral(new Date('2030-01-01T00:00:00Z'))).toBe("'2030-01-01T00:00:00.000Z'");
    expect(sqlLiteral(Buffer.from([0xde, 0xad]))).toBe("'\\xdead'");
    // The array's own backslash escape makes pg switch to an E'' string.
    expect(sqlLiteral(['a', 'b"c', null])).toBe(` E'{"a","b\\\\"c",NULL}'`);
    expect(sqlLiteral({ a: 1 })).toBe(`'{"a":1}'`);
  });
});

describe(inlineParameters.name, () => {
  it('replaces placeholders outside strings, identifiers, dollar quotes and comments', () => {
    const sql = `SELECT $1, '$2', "$2", $$ $2 $$, $fn$ $2 $fn$ -- $2\n, /* $2 */ $2, $10`;
    const params = ['one', 'two', 3, 4, 5, 6, 7, 8, 9, 'ten'];
    expect(inlineParameters(sql, params)).toBe(`SELECT 'one', '$2', "$2", $$ $2 $$, $fn$ $2 $fn$ -- $2\n, /* $2 */ 'two', 'ten'`);
  });

  it('refuses a placeholder without a parameter', () => {
    expect(() => inlineParameters('SELECT $2', [1])).toThrow('placeholder $2 has no parameter (got 1)');
  });
});

describe(renderMigrationSql.name, () => {
  it('writes a header, then each statement dedented and terminated once', () => {
    const migration: CapturedMigration = {
      name: 'TwoStatements1700000000000',
      transaction: false,
      capturedWith: 'recording',
      statements: [
        { sql: '\n      CREATE TABLE t (\n        id bigint\n      )', parameters: [] },
        { sql: 'INSERT INTO t VALUES ($1);', parameters: [1] },
      ],
    };
    expect(renderMigrationSql(migration)).toBe(
      [
        '-- migration: TwoStatements1700000000000',
        '-- transaction: no (transaction = false)',
        '-- captured with: recording',
        '',
        'CREATE TABLE t (',
        '  id bigint',
        ');',
        '',
        'INSERT INTO t VALUES (1);',
        '',
        '-- recorded by TypeORM after the statements above',
        `INSERT INTO "typeorm_migrations" ("timestamp", "name") VALUES (1700000000000, 'TwoStatements1700000000000');`,
        '',
      ].join('\n'),
    );
  });
});

describe(bookkeepingStatement.name, () => {
  it('is the row TypeORM inserts, with the timestamp from the name', () => {
    expect(bookkeepingStatement('AddNotes1764400000123')).toBe(
      `INSERT INTO "typeorm_migrations" ("timestamp", "name") VALUES (1764400000123, 'AddNotes1764400000123')`,
    );
  });

  it('refuses a name TypeORM would refuse', () => {
    expect(() => bookkeepingStatement('AddNotes')).toThrow('AddNotes: TypeORM needs a 13-digit timestamp at the end of a migration name');
  });
});
