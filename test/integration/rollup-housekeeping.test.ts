import { ClickRollupService, HousekeepingHandler } from '@shortener/clicks';
import { QueuedClick } from '@shortener/queue';
import type { Client } from 'pg';
import { insertLink, rollupOf, testDatabase } from '../support/rollup-fixtures';
import { USER_AGENTS } from '../support/user-agents';
import { TestWorker, startTestWorker, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(30_000);

const DAY = 86_400_000;
const click = (linkId: string): QueuedClick => ({
  linkId,
  at: Date.parse('2030-06-01T12:00:00Z'),
  referrerHost: null,
  userAgent: USER_AGENTS.firefoxLinux,
  visitorHash: 'v',
  country: null,
});

describe('rollup housekeeping', () => {
  let worker: TestWorker;
  let db: Client;
  beforeAll(async () => {
    worker = await startTestWorker({ QUEUE_PREFIX: uniqueQueuePrefix('housekeeping'), BATCH_ID_RETENTION_HOURS: '72', DELETED_LINK_RETENTION_DAYS: '30' });
    db = await testDatabase();
  });
  afterAll(async () => {
    await worker?.close();
    await db?.end();
  });

  it('prunes batch ids past BATCH_ID_RETENTION_HOURS and idempotency keys past 24 h, and keeps younger ones', async () => {
    const tag = `${process.env.JEST_WORKER_ID}-${Date.now()}`;
    await db.query(
      `INSERT INTO click_batches (batch_id, click_count, processed_at) VALUES ($1, 1, now() - interval '73 hours'), ($2, 1, now() - interval '71 hours')`,
      [`old-${tag}`, `young-${tag}`],
    );
    const { rows } = await db.query<{ id: string }>(`INSERT INTO accounts (name) VALUES ('idem') RETURNING id`);
    await db.query(
      `INSERT INTO idempotency_keys (account_id, key, request_hash, status_code, response_body, created_at)
       VALUES ($1, 'old', '\\x00', 201, '{}', now() - interval '25 hours'), ($1, 'young', '\\x00', 201, '{}', now() - interval '23 hours')`,
      [rows[0].id],
    );
    await worker.app.get(HousekeepingHandler).handle();
    const batches = await db.query(`SELECT batch_id FROM click_batches WHERE batch_id = ANY($1) ORDER BY batch_id`, [[`old-${tag}`, `young-${tag}`]]);
    const keys = await db.query(`SELECT key FROM idempotency_keys WHERE account_id = $1 ORDER BY key`, [rows[0].id]);
    expect({ batches: batches.rows.map((r) => r.batch_id), keys: keys.rows.map((r) => r.key) }).toEqual({ batches: [`young-${tag}`], keys: ['young'] });
  });

  it("purges a link's analytics DELETED_LINK_RETENTION_DAYS after its deletion, and not before", async () => {
    const rollup = worker.app.get(ClickRollupService);
    const old = await insertLink(db, 'purge-old');
    const recent = await insertLink(db, 'purge-recent');
    await rollup.commit(`purge-${old.id}`, [click(old.id), click(old.id)]);
    await rollup.commit(`purge-${recent.id}`, [click(recent.id)]);
    await db.query(`UPDATE links SET deleted_at = now() - $2 * interval '1 millisecond' WHERE id = $1`, [old.id, 31 * DAY]);
    await db.query(`UPDATE links SET deleted_at = now() - $2 * interval '1 millisecond' WHERE id = $1`, [recent.id, 29 * DAY]);
    await worker.app.get(HousekeepingHandler).handle();
    expect(await rollupOf(db, old.id)).toEqual({ hourly: [], dimensions: [], visitorDays: [], clickTotal: 0 });
    const kept = await rollupOf(db, recent.id);
    expect({ hourly: kept.hourly, visitorDays: kept.visitorDays, clickTotal: kept.clickTotal }).toEqual({
      hourly: [{ hour: '2030-06-01T12:00:00.000Z', human: 1, bot: 0 }],
      visitorDays: ['2030-06-01'],
      clickTotal: 1,
    });
  });
});
