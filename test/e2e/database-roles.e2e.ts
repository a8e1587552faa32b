import type { Queue } from 'bullmq';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../support/child-process';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { createRoleDatabase, RoleDatabase } from '../support/db-roles';
import { waitUntil } from '../support/wait';
import { TEST_ADMIN_KEY, testConfig, testEnv, workerId } from '../support/test-env';
import { testQueue, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(180_000);

/**
 * The compiled apps as production runs them: `migrate.main.js` as the owner
 * role (DATABASE_MIGRATION_URL), the API and the worker as an app role that
 * can neither create tables nor is a superuser (DATABASE_URL). A link is
 * created, redirected, and its click rolled up.
 */
describe('the API and the worker as the app role', () => {
  let db: RoleDatabase;
  let api: CompiledApp | undefined;
  let worker: CompiledApp | undefined;
  let clicks: Queue | undefined;
  const env = () => ({ DATABASE_URL: db.appUrl, QUEUE_PREFIX: prefix });
  const prefix = uniqueQueuePrefix('roles');

  beforeAll(async () => {
    db = await createRoleDatabase('approle');
    const migrate = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist/libs/database/src/migration/migrate.main.js')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...testEnv({ DATABASE_URL: db.appUrl, DATABASE_MIGRATION_URL: db.ownerUrl }) },
      encoding: 'utf8',
    });
    if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
    clicks = testQueue(testConfig('api', env()));
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await clicks?.obliterate({ force: true }).catch(() => undefined);
    await clicks?.close();
    await db?.drop();
  });

  it('migrates as the owner, then creates, redirects and rolls up a click as the app role, which cannot create a table', async () => {
    [api, worker] = await Promise.all([startCompiledApp('api', env()), startCompiledApp('worker', env())]);
    const alias = `roles-${workerId()}-${Date.now().toString(36)}`;
    const auth = { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    const created = await fetch(`${api.url}/api/v1/links`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `https://example.com/${alias}`, alias }),
    });
    const redirect = await fetch(`${api.url}/${alias}`, { redirect: 'manual' });
    expect([created.status, redirect.status, redirect.headers.get('location')]).toEqual([201, 302, `https://example.com/${alias}`]);
    const totals = await waitUntil(
      'the click to be rolled up',
      async () => {
        const body = (await (await fetch(`${api!.url}/api/v1/links/${alias}/stats`, { headers: auth })).json()) as { totals?: { clicks: number } };
        return { done: body.totals?.clicks === 1, state: body.totals };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    expect(totals).toMatchObject({ clicks: 1 });

    const owner = await db.connect('owner');
    try {
      // Every session the apps opened logs in as the app role.
      const { rows } = await owner.query<{ app: string; role: string }>(
        `SELECT DISTINCT application_name AS app, usename AS role FROM pg_stat_activity WHERE datname = $1 AND application_name IN ('shortener-api', 'shortener-worker') ORDER BY 1`,
        [db.name],
      );
      expect(rows).toEqual([
        { app: 'shortener-api', role: db.appRole },
        { app: 'shortener-worker', role: db.appRole },
      ]);
    } finally {
      await owner.end();
    }
    const app = await db.connect('app');
    try {
      expect(
        await app.query('CREATE TABLE app_made (id int)').then(
          () => 'created',
          (e: { code?: string }) => e.code,
        ),
      ).toBe('42501');
    } finally {
      await app.end();
    }
  });
});
