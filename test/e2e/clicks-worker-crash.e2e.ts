import { QueuedClickRecorder } from '@shortener/clicks';
import type { Queue } from 'bullmq';
import { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode } from '../support/click-pipeline';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { waitUntil } from '../support/wait';
import { rollupOf, testDatabase } from '../support/rollup-fixtures';
import { USER_AGENTS } from '../support/user-agents';
import { testQueue, uniqueQueuePrefix } from '../support/worker-app';
import { WorkerProcess, startWorkerProcess } from '../support/worker-process';

jest.setTimeout(90_000);

/**
 * At-least-once delivery end to end: the compiled worker is SIGKILLed while
 * its rollup transaction is open, and the restarted worker picks the stalled
 * job up again. Counts must come out exact, neither lost nor doubled.
 */
describe('worker killed in the middle of a batch', () => {
  // A short job lock, so the stalled job is retried within seconds.
  // Clicks are published only by the explicit drain (one batch, one job).
  const env = { QUEUE_PREFIX: uniqueQueuePrefix('crash'), TRUSTED_PROXIES: '127.0.0.1', WORKER_JOB_LOCK_MS: '1000', CLICK_FLUSH_INTERVAL_MS: '60000' };
  let api: TestApi;
  let clicks: Queue;
  let db: Client;
  let locker: Client;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    api = await startTestApi(env);
    clicks = testQueue(api.config);
    db = await testDatabase();
    locker = await testDatabase();
  });
  afterAll(async () => {
    await worker?.kill('SIGKILL');
    await api?.close();
    await clicks?.close();
    await locker?.end();
    await db?.end();
  });

  it('leaves exact counts after a SIGKILL mid-transaction and a restart', async () => {
    const code = await createLinkCode(api, { url: 'https://example.com/crash', alias: uniqueAlias('crash') });
    const { rows } = await db.query<{ id: string }>(`SELECT id::text AS id FROM links WHERE code = $1`, [code]);
    const linkId = rows[0].id;
    for (let i = 1; i <= 6; i += 1) {
      const res = await api.http().get(`/${code}`).set('user-agent', USER_AGENTS.safariIphone).set('x-forwarded-for', `10.9.0.${i}`);
      expect(res.status).toBe(302);
    }
    expect(await api.app.get(QueuedClickRecorder).drain(10_000)).toBe(true);
    expect(await clicks.getWaitingCount()).toBe(1);

    // Hold the link row (as a concurrent writer would): the rollup gets through its
    // batch id, hourly, dimension and visitor writes and then waits for the row.
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM links WHERE id = $1 FOR NO KEY UPDATE', [linkId]);
    worker = await startWorkerProcess(env);
    const blocked = await waitUntil(
      'the worker to wait inside its rollup transaction',
      async () => {
        const r = await db.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'shortener-worker' AND wait_event_type = 'Lock'`,
        );
        return { done: r.rows.length === 1, state: r.rows };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    expect(await clicks.getActiveCount()).toBe(1);
    expect(await worker.kill('SIGKILL')).toBe('SIGKILL');
    await locker.query('ROLLBACK');
    await waitUntil(
      "the killed worker's session to end",
      async () => {
        const r = await db.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [blocked[0].pid]);
        return { done: r.rows.length === 0, state: r.rows.length };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    // Nothing of the interrupted transaction survived.
    expect(await rollupOf(db, linkId)).toEqual({ hourly: [], dimensions: [], visitorDays: [], clickTotal: 0 });

    worker = await startWorkerProcess(env);
    await waitForQueueIdle(clicks, { timeoutMs: 30_000 });
    const stats = await api.http().get(`/api/v1/links/${code}/stats`).set('authorization', api.adminAuth);
    expect(stats.body.totals).toEqual({ clicks: 6, humanClicks: 6, botClicks: 0, uniqueVisitors: 6 });
    expect((await rollupOf(db, linkId)).clickTotal).toBe(6);
    // A graceful stop: Nest runs the shutdown hooks (workers finish their jobs), then re-raises the signal.
    expect(await worker.kill('SIGTERM')).toBe('SIGTERM');
  });
});
