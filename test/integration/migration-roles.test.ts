import { loadConfig } from '@shortener/config';
import { MIGRATIONS, runMigrations } from '@shortener/database';
import { createRoleDatabase, RoleDatabase } from '../support/db-roles';

/**
 * The migration runner connects as the owner role (DATABASE_MIGRATION_URL)
 * and grants the app role (DATABASE_URL) row access only: the app role
 * cannot create or truncate tables, reads and writes every table and
 * sequence, including those later migrations create.
 */
describe('migration runner: owner and app roles', () => {
  let db: RoleDatabase;
  const log: string[] = [];
  const config = () => loadConfig('migrations', { NODE_ENV: 'test', DATABASE_URL: db.appUrl, DATABASE_MIGRATION_URL: db.ownerUrl });

  beforeAll(async () => {
    db = await createRoleDatabase('roles');
  });
  afterAll(() => db?.drop());

  it('migrates as the owner and grants the app role, which owns nothing', async () => {
    const result = await runMigrations(config(), (m) => log.push(m));
    expect({ applied: result.applied, grantedTo: result.grantedTo }).toEqual({ applied: MIGRATIONS.map((m) => new m().name), grantedTo: db.appRole });
    expect(log.at(-1)).toBe(`granted the app role ${db.appRole} row access in schema public (owner ${db.ownerRole})`);
    const owner = await db.connect('owner');
    try {
      const { rows } = await owner.query<{ owner: string; n: number }>(
        `SELECT tableowner AS owner, count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' GROUP BY tableowner`,
      );
      expect(rows).toEqual([{ owner: db.ownerRole, n: expect.any(Number) }]);
    } finally {
      await owner.end();
    }
  });

  it('refuses DDL and TRUNCATE to the app role (42501) and lets it read and write rows and sequences', async () => {
    const app = await db.connect('app');
    const code = (sql: string) =>
      app.query(sql).then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      );
    try {
      expect(await code('CREATE TABLE app_made (id int)')).toBe('42501');
      expect(await code('CREATE INDEX app_index ON accounts (name)')).toBe('42501');
      expect(await code('TRUNCATE link_audit')).toBe('42501');
      expect(await code('DROP TABLE accounts')).toBe('42501');
      const { rows } = await app.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('role test') RETURNING id`);
      expect(await code(`UPDATE accounts SET name = 'renamed' WHERE id = '${rows[0].id}'`)).toBe('ok');
      expect(await code(`SELECT nextval('link_code_seq')`)).toBe('ok');
      expect(await code(`DELETE FROM accounts WHERE id = '${rows[0].id}'`)).toBe('ok');
      const role = await app.query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
        'SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user',
      );
      expect(role.rows).toEqual([{ rolsuper: false, rolcreatedb: false, rolcreaterole: false }]);
    } finally {
      await app.end();
    }
  });

  it('covers tables and sequences a later migration creates, and grants again on every run', async () => {
    const owner = await db.connect('owner');
    const app = await db.connect('app');
    try {
      // What a later migration does, as the owner.
      await owner.query('CREATE TABLE later_table (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text)');
      await app.query(`INSERT INTO later_table (note) VALUES ('written by the app role')`);
      expect((await app.query('SELECT note FROM later_table')).rows).toEqual([{ note: 'written by the app role' }]);
      const again = await runMigrations(config());
      expect({ applied: again.applied, grantedTo: again.grantedTo }).toEqual({ applied: [], grantedTo: db.appRole });
    } finally {
      await owner.query('DROP TABLE IF EXISTS later_table');
      await Promise.all([owner.end(), app.end()]);
    }
  });

  it('grants nothing, saying why, when DATABASE_URL is the owner, names a role that does not exist, or a superuser', async () => {
    const lines: string[] = [];
    const asOwner = await runMigrations(loadConfig('migrations', { NODE_ENV: 'test', DATABASE_URL: db.ownerUrl }), (m) => lines.push(m));
    const missing = new URL(db.appUrl);
    missing.username = `${db.appRole}_missing`;
    const unknown = await runMigrations(
      loadConfig('migrations', { NODE_ENV: 'test', DATABASE_URL: missing.toString(), DATABASE_MIGRATION_URL: db.ownerUrl }),
      (m) => lines.push(m),
    );
    const superuser = new URL(db.appUrl);
    superuser.username = 'postgres';
    const asSuperuser = await runMigrations(
      loadConfig('migrations', { NODE_ENV: 'test', DATABASE_URL: superuser.toString(), DATABASE_MIGRATION_URL: db.ownerUrl }),
      (m) => lines.push(m),
    );
    expect([asOwner.grantedTo, unknown.grantedTo, asSuperuser.grantedTo]).toEqual([null, null, null]);
    expect(lines).toEqual([
      `DATABASE_URL connects as the owner role ${db.ownerRole}: nothing to grant (set DATABASE_MIGRATION_URL and a DATABASE_URL role without DDL rights)`,
      `the app role ${db.appRole}_missing (DATABASE_URL) does not exist: nothing granted; create it (LOGIN, no superuser) and migrate again`,
      'the app role postgres (DATABASE_URL) is a superuser: nothing granted; give the apps a role without DDL rights',
    ]);
  });
});
