import Redis from 'ioredis';
import { Client } from 'pg';
import { ADMIN_URL, REDIS_URL } from './test-env';

/**
 * Drops every database of this run and deletes its Redis keys (cache and
 * rate-limit keys under `test:<run>:`, queues under `{test-<run>-...}`), so
 * runs leave the shared services as they found them. Set
 * KEEP_TEST_DATABASES=1 to keep both for a post-mortem.
 */
export default async function globalTeardown(): Promise<void> {
  const id = process.env.TEST_RUN_ID;
  if (!id || process.env.KEEP_TEST_DATABASES === '1') return;
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`shortener\\_test\\_${id}\\_%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for (const pattern of [`test:${id}:*`, `{test-${id}-*`]) {
      for await (const keys of redis.scanStream({ match: pattern, count: 1_000 }) as AsyncIterable<string[]>) if (keys.length) await redis.unlink(...keys);
    }
  } finally {
    redis.disconnect();
  }
  delete process.env.TEST_RUN_ID;
}
