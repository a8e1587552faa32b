// `npm run up`'s database step: the owner and app roles and the database,
// created if missing, as a superuser (UP_DATABASE_ADMIN_URL).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Client, escapeIdentifier, escapeLiteral } = require('pg');

/** The role a PostgreSQL URL logs in as, and its password if the URL has one. */
function credentialsOf(url) {
  const parsed = new URL(url);
  return { role: decodeURIComponent(parsed.username), password: parsed.password ? decodeURIComponent(parsed.password) : undefined };
}

/**
 * The superuser URL `npm run up` provisions with: `UP_DATABASE_ADMIN_URL`,
 * else the `postgres` user on the host and port of the migration URL, in
 * database `postgres` (trust authentication on 127.0.0.1, as the README's
 * quick start assumes).
 *
 * @param {Record<string, string | undefined>} env
 */
export function adminUrlOf(env) {
  if (env.UP_DATABASE_ADMIN_URL) return env.UP_DATABASE_ADMIN_URL;
  const url = new URL(env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL);
  url.username = 'postgres';
  url.password = '';
  url.pathname = '/postgres';
  return url.toString();
}

/**
 * Creates what the apps and the migrations connect as, idempotently:
 *
 * - the owner role (`DATABASE_MIGRATION_URL`'s user) and the app role
 *   (`DATABASE_URL`'s user), each `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE`
 *   (with the URL's password, if it has one) when it does not exist; an
 *   existing role is left as it is;
 * - the database (the migration URL's), owned by the owner role; an existing
 *   one is handed to the owner role with the tables, sequences and views of
 *   its `public` schema (a database an earlier `npm run up` migrated as
 *   `postgres`), so migrations run as the owner.
 *
 * Nothing changes hands when the owner role is a superuser. The app role's
 * rights are granted by the migration runner.
 *
 * @param {Record<string, string | undefined>} env the environment of `npm run up` (scripts/up-env.mjs)
 * @returns {Promise<string[]>} what was done, one line each (empty when nothing was)
 * @throws when PostgreSQL is unreachable or refuses the admin URL
 */
export async function provisionDatabase(env) {
  const migrationUrl = new URL(env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL);
  const dbName = decodeURIComponent(migrationUrl.pathname.slice(1));
  const owner = credentialsOf(migrationUrl.toString());
  const app = credentialsOf(env.DATABASE_URL);
  const done = [];
  const admin = new Client({ connectionString: adminUrlOf(env) });
  await admin.connect();
  try {
    for (const { role, password } of owner.role === app.role ? [owner] : [owner, app]) {
      if (!role) continue;
      const { rowCount } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (rowCount) continue;
      const withPassword = password ? ` PASSWORD ${escapeLiteral(password)}` : '';
      await admin.query(`CREATE ROLE ${escapeIdentifier(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE${withPassword}`);
      done.push(`created role ${role}`);
    }
    const ownerRole = owner.role || (await admin.query('SELECT current_user AS u')).rows[0].u;
    const { rows: superuser } = await admin.query('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [ownerRole]);
    const { rows: existing } = await admin.query('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [dbName]);
    if (existing.length === 0) {
      await admin.query(`CREATE DATABASE ${escapeIdentifier(dbName)} OWNER ${escapeIdentifier(ownerRole)}`);
      done.push(`created database ${dbName} owned by ${ownerRole}`);
    } else if (!superuser[0]?.rolsuper) {
      if (existing[0].owner !== ownerRole) {
        await admin.query(`ALTER DATABASE ${escapeIdentifier(dbName)} OWNER TO ${escapeIdentifier(ownerRole)}`);
        done.push(`database ${dbName} now owned by ${ownerRole}`);
      }
      done.push(...(await handOverSchema(env, dbName, ownerRole)));
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
  return done;
}

/** Gives `ownerRole` the tables, sequences and views of `public` that another role owns. */
async function handOverSchema(env, dbName, ownerRole) {
  const url = new URL(adminUrlOf(env));
  url.pathname = `/${encodeURIComponent(dbName)}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    // Sequences owned by a table column move with their table.
    const { rows } = await client.query(
      `SELECT c.relname AS name, c.relkind AS kind
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
          AND pg_get_userbyid(c.relowner) <> $1
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
        ORDER BY c.relkind DESC, c.relname`,
      [ownerRole],
    );
    const keyword = { r: 'TABLE', p: 'TABLE', S: 'SEQUENCE', v: 'VIEW', m: 'MATERIALIZED VIEW' };
    for (const { name, kind } of rows) {
      await client.query(`ALTER ${keyword[kind]} public.${escapeIdentifier(name)} OWNER TO ${escapeIdentifier(ownerRole)}`);
    }
    return rows.length ? [`${rows.length} objects of ${dbName}.public now owned by ${ownerRole}`] : [];
  } finally {
    await client.end().catch(() => undefined);
  }
}
