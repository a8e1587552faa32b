import { ClickCommitCoalescer, ClickRollupService, MERGE_ADD_MAX_HLLS, VisitorHllStore } from '@shortener/clicks';
import { QueuedClick } from '@shortener/queue';
import type { Client } from 'pg';
import { insertLink, rollupOf, testDatabase } from '../support/rollup-fixtures';
import { USER_AGENTS } from '../support/user-agents';
import { TestWorker, startTestWorker, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(30_000);

const AT = Date.parse('2030-07-01T08:30:00Z');
const click = (linkId: string, visitorHash: string, over: Partial<QueuedClick> = {}): QueuedClick => ({
  linkId,
  at: AT,
  referrerHost: 'ref.example',
  userAgent: USER_AGENTS.firefoxLinux,
  visitorHash,
  country: 'NL',
  ...over,
});

describe('rollup group commit', () => {
  let worker: TestWorker;
  let db: Client;
  beforeAll(async () => {
    worker = await startTestWorker({ QUEUE_PREFIX: uniqueQueuePrefix('group-commit') });
    db = await testDatabase();
  });
  afterAll(async () => {
    await worker?.close();
    await db?.end();
  });

  const visitorsOf = async (linkId: string) => {
    const { rows } = await db.query<{ hll: Buffer }>(`SELECT hll FROM link_visitors_daily WHERE link_id = $1`, [linkId]);
    return worker.app.get(VisitorHllStore).unionCount(rows.map((r) => r.hll));
  };

  it('commits several batches in one transaction with exact counts, counting a repeated or recorded batch id once', async () => {
    const [a, b] = [await insertLink(db, 'group-a'), await insertLink(db, 'group-b')];
    const rollup = worker.app.get(ClickRollupService);
    const tag = `${a.id}-${b.id}`;
    expect(await rollup.commit(`old-${tag}`, [click(a.id, 'v1')])).toEqual({ batchId: `old-${tag}`, duplicate: false, committed: 1 });

    const first = { batchId: `one-${tag}`, clicks: [click(a.id, 'v1'), click(a.id, 'v2'), click(b.id, 'v1', { userAgent: USER_AGENTS.googlebot })] };
    const second = { batchId: `two-${tag}`, clicks: [click(b.id, 'v3'), click(b.id, 'v3', { at: AT + 3_600_000 }), click('999999999999', 'v9')] };
    const results = await rollup.commitBatches([first, second, { ...first }, { batchId: `old-${tag}`, clicks: [click(a.id, 'v7')] }]);

    expect(results).toEqual([
      { batchId: `one-${tag}`, duplicate: false, committed: 3 },
      { batchId: `two-${tag}`, duplicate: false, committed: 2 },
      { batchId: `one-${tag}`, duplicate: true, committed: 0 },
      { batchId: `old-${tag}`, duplicate: true, committed: 0 },
    ]);
    expect(await rollupOf(db, a.id)).toEqual({
      hourly: [{ hour: '2030-07-01T08:00:00.000Z', human: 3, bot: 0 }],
      dimensions: [
        { day: '2030-07-01', dimension: 'browser', value: 'Firefox', clicks: 3 },
        { day: '2030-07-01', dimension: 'country', value: 'NL', clicks: 3 },
        { day: '2030-07-01', dimension: 'device', value: 'desktop', clicks: 3 },
        { day: '2030-07-01', dimension: 'os', value: 'Linux', clicks: 3 },
        { day: '2030-07-01', dimension: 'referrer', value: 'ref.example', clicks: 3 },
      ],
      visitorDays: ['2030-07-01'],
      clickTotal: 3,
    });
    expect(await rollupOf(db, b.id)).toMatchObject({
      hourly: [
        { hour: '2030-07-01T08:00:00.000Z', human: 1, bot: 1 },
        { hour: '2030-07-01T09:00:00.000Z', human: 1, bot: 0 },
      ],
      clickTotal: 3,
    });
    expect([await visitorsOf(a.id), await visitorsOf(b.id)]).toEqual([2, 1]);
    const { rows } = await db.query(`SELECT batch_id, click_count::int AS clicks FROM click_batches WHERE batch_id = ANY($1) ORDER BY batch_id`, [
      [`one-${tag}`, `two-${tag}`, `old-${tag}`],
    ]);
    expect(rows).toEqual([
      { batch_id: `old-${tag}`, clicks: 1 },
      { batch_id: `one-${tag}`, clicks: 3 },
      { batch_id: `two-${tag}`, clicks: 3 },
    ]);
  });

  it('answers an HLL the hashes leave unchanged with null, and splits many HLLs over several script calls in order', async () => {
    const hll = worker.app.get(VisitorHllStore);
    const count = MERGE_ADD_MAX_HLLS + 44;
    const created = await hll.add(Array.from({ length: count }, (_, i) => ({ stored: Buffer.alloc(0), visitorHashes: [`v${i}`, `w${i % 2}`] })));
    expect(created.every((b) => Buffer.isBuffer(b) && b.length > 0)).toBe(true);
    const again = await hll.add(created.map((stored, i) => ({ stored: stored!, visitorHashes: i === 7 ? ['new'] : [`w${i % 2}`] })));
    expect(again.map((b, i) => (b === null ? null : i))).toEqual(Array.from({ length: count }, (_, i) => (i === 7 ? 7 : null)));
    expect([
      await hll.unionCount([created[0]!, created[1]!]),
      await hll.unionCount([again[7]!]),
      await hll.unionCount(created.slice(-10).map((b) => b!)),
    ]).toEqual([4, 3, 12]);
  });

  it('commits the good batches of a transaction that one bad batch fails, and fails only that one', async () => {
    const [good, bad] = [await insertLink(db, 'group-good'), await insertLink(db, 'group-bad')];
    // A stored HLL that Redis refuses (not HLL bytes): every transaction with a human click of this link and day fails.
    await db.query(`INSERT INTO link_visitors_daily (link_id, day, hll) VALUES ($1, '2030-07-01', '\\x6e6f74206120686c6c'::bytea)`, [bad.id]);
    const commits = worker.app.get(ClickCommitCoalescer);
    const job = { queue: 'clicks', name: 'click-batch' };
    const outcomes = await Promise.all(
      [
        { batchId: `good-${good.id}`, clicks: [click(good.id, 'v1'), click(good.id, 'v2')] },
        { batchId: `bad-${bad.id}`, clicks: [click(bad.id, 'v1')] },
      ].map((b) => commits.submit(b, job).catch((e: Error) => e.message)),
    );
    expect(outcomes[0]).toEqual({ batchId: `good-${good.id}`, duplicate: false, committed: 2 });
    expect(outcomes[1]).toMatch(/^HLL update \(call 0\) failed: .*(WRONGTYPE|INVALIDOBJ)/);
    expect([(await rollupOf(db, good.id)).clickTotal, (await rollupOf(db, bad.id)).clickTotal]).toEqual([2, 0]);
    const { rows } = await db.query(`SELECT batch_id FROM click_batches WHERE batch_id = ANY($1)`, [[`good-${good.id}`, `bad-${bad.id}`]]);
    expect(rows).toEqual([{ batch_id: `good-${good.id}` }]);
  });
});
