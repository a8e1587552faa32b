import { Client } from 'pg';
import { ADMIN_URL } from './test-env';

/** Drops every database of this run. Set KEEP_TEST_DATABASES=1 to keep them for a post-mortem. */
export default async function globalTeardown(): Promise<void> {
  const id = process.env.TEST_RUN_ID;
  if (!id || process.env.KEEP_TEST_DATABASES === '1') return;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `shortener\\_test\\_${id}\\_%`,
    ]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  delete process.env.TEST_RUN_ID;
}
