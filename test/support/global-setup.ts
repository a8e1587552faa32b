import { loadConfig } from '@shortener/config';
import { runMigrations } from '@shortener/database';
import { Client } from 'pg';
import { ADMIN_URL, databaseUrl, templateDatabaseName, workerDatabaseName } from './test-env';

/**
 * Once per Jest run (shared by the integration, e2e and slo projects): create
 * the run's template database with the real migrations, then one clone per
 * Jest worker. The run id reaches the workers through the environment.
 */
export default async function globalSetup(globalConfig: { maxWorkers: number }): Promise<void> {
  if (process.env.TEST_RUN_ID) return;
  const id = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  process.env.TEST_RUN_ID = id;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await dropStaleRuns(admin);
    const template = templateDatabaseName(id);
    await admin.query(`CREATE DATABASE "${template}"`);
    await runMigrations(loadConfig('migrations', { DATABASE_URL: databaseUrl(template), NODE_ENV: 'test' }));
    const workers = Math.max(1, globalConfig.maxWorkers);
    for (let w = 1; w <= workers; w += 1) {
      await admin.query(`CREATE DATABASE "${workerDatabaseName(String(w), id)}" TEMPLATE "${template}"`);
    }
  } finally {
    await admin.end();
  }
}

/** Drops test databases of runs older than a day (a crashed run never reached its teardown). */
async function dropStaleRuns(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'shortener\\_test\\_%'`);
  const dayAgo = Date.now() - 86_400_000;
  for (const { datname } of rows) {
    const stamp = parseInt(datname.split('_')[2]?.slice(0, 8) ?? '', 36);
    if (Number.isFinite(stamp) && stamp < dayAgo) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}
