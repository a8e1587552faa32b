import { Client } from 'pg';
import { ADMIN_URL, databaseUrl, runId, workerId } from './test-env';

/**
 * A database with the production split of roles, owned by one test file:
 * an owner role that owns the database and runs the migrations, and an app
 * role that logs in with no superuser, CREATEDB or CREATEROLE right (as
 * `npm run up` creates them). Roles are cluster-wide, so their names carry
 * the run, the Jest worker and a label. Trust authentication on 127.0.0.1,
 * as the test PostgreSQL has it.
 */
export interface RoleDatabase {
  name: string;
  ownerRole: string;
  appRole: string;
  /** URL of the database as the owner role (`DATABASE_MIGRATION_URL`). */
  ownerUrl: string;
  /** URL of the database as the app role (`DATABASE_URL`). */
  appUrl: string;
  /** A connected client as `role` (the caller ends it). */
  connect(role: 'owner' | 'app'): Promise<Client>;
  /** Drops the database (closing its sessions) and both roles. */
  drop(): Promise<void>;
}

async function asAdmin<T>(run: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

/** Creates (again, if a crashed run left them) the roles and an empty database owned by the owner role. */
export async function createRoleDatabase(label: string): Promise<RoleDatabase> {
  const base = `st_${runId()}_w${workerId()}_${label}`;
  const name = `shortener_test_${runId()}_w${workerId()}_${label}`;
  const ownerRole = `${base}_owner`;
  const appRole = `${base}_app`;
  const drop = () =>
    asAdmin(async (admin) => {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${appRole}"`);
      await admin.query(`DROP ROLE IF EXISTS "${ownerRole}"`);
    });
  await drop();
  await asAdmin(async (admin) => {
    await admin.query(`CREATE ROLE "${ownerRole}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await admin.query(`CREATE ROLE "${appRole}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`);
    await admin.query(`CREATE DATABASE "${name}" OWNER "${ownerRole}"`);
  });
  const urlAs = (role: string) => {
    const url = new URL(databaseUrl(name));
    url.username = role;
    return url.toString();
  };
  const ownerUrl = urlAs(ownerRole);
  const appUrl = urlAs(appRole);
  return {
    name,
    ownerRole,
    appRole,
    ownerUrl,
    appUrl,
    connect: async (role) => {
      const client = new Client({ connectionString: role === 'owner' ? ownerUrl : appUrl });
      await client.connect();
      return client;
    },
    drop,
  };
}
