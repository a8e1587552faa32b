import { Client } from 'pg';
import { provisionDatabase } from '../../scripts/up-database.mjs';
import { ADMIN_URL, databaseUrl, runId, workerId } from '../support/test-env';

/**
 * `npm run up`'s database step on the real PostgreSQL: the owner and app
 * roles and the database, created once (a second run does nothing), and a
 * database an earlier run migrated as `postgres` handed to the owner role.
 */
describe('npm run up: roles and database', () => {
  const base = `st_${runId()}_w${workerId()}_up`;
  const ownerRole = `${base}_owner`;
  const appRole = `${base}_app`;
  const name = `shortener_test_${runId()}_w${workerId()}_up`;
  const urlAs = (role: string) => {
    const url = new URL(databaseUrl(name));
    url.username = role;
    return url.toString();
  };
  const env = { DATABASE_URL: urlAs(appRole), DATABASE_MIGRATION_URL: urlAs(ownerRole), UP_DATABASE_ADMIN_URL: ADMIN_URL };
  let admin: Client;

  const cleanUp = async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS "${appRole}"`);
    await admin.query(`DROP ROLE IF EXISTS "${ownerRole}"`);
  };
  beforeAll(async () => {
    admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await cleanUp();
  });
  afterAll(async () => {
    await cleanUp();
    await admin.end();
  });

  it('creates both login roles without superuser, CREATEDB or CREATEROLE, and the database owned by the owner role, once', async () => {
    expect(await provisionDatabase(env)).toEqual([`created role ${ownerRole}`, `created role ${appRole}`, `created database ${name} owned by ${ownerRole}`]);
    const { rows } = await admin.query(
      `SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY rolname`,
      [appRole, ownerRole],
    );
    expect(rows).toEqual([
      { rolname: appRole, rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false },
      { rolname: ownerRole, rolcanlogin: true, rolsuper: false, rolcreatedb: false, rolcreaterole: false },
    ]);
    const owner = await admin.query(`SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1`, [name]);
    expect(owner.rows).toEqual([{ owner: ownerRole }]);
    expect(await provisionDatabase(env)).toEqual([]);
  });

  it('hands a database migrated as postgres (tables, their identity sequences, a sequence of its own) to the owner role', async () => {
    await admin.query(`ALTER DATABASE "${name}" OWNER TO postgres`);
    const asPostgres = new Client({ connectionString: databaseUrl(name) });
    await asPostgres.connect();
    try {
      await asPostgres.query('CREATE TABLE earlier (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)');
      await asPostgres.query('CREATE SEQUENCE earlier_seq');
      expect(await provisionDatabase(env)).toEqual([`database ${name} now owned by ${ownerRole}`, `2 objects of ${name}.public now owned by ${ownerRole}`]);
      const { rows } = await asPostgres.query(
        `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1`,
      );
      expect(rows).toEqual([
        { name: 'earlier', owner: ownerRole },
        { name: 'earlier_id_seq', owner: ownerRole },
        { name: 'earlier_pkey', owner: ownerRole },
        { name: 'earlier_seq', owner: ownerRole },
      ]);
    } finally {
      await asPostgres.end();
    }
    const asOwner = new Client({ connectionString: urlAs(ownerRole) });
    await asOwner.connect();
    try {
      await asOwner.query('ALTER TABLE earlier ADD COLUMN note text');
    } finally {
      await asOwner.end();
    }
    expect(await provisionDatabase(env)).toEqual([]);
  });
});
