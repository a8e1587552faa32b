import { ClickRollupService, VisitorHllStore } from '@shortener/clicks';
import { MetricsService } from '@shortener/observability';
import { CLICK_BATCH_JOB_OPTIONS, ClickBatchJobData, JOBS, QueuedClick } from '@shortener/queue';
import type { Job, Queue } from 'bullmq';
import type { Client } from 'pg';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { waitUntil } from '../support/wait';
import { insertLink, rollupOf, testDatabase } from '../support/rollup-fixtures';
import { USER_AGENTS } from '../support/user-agents';
import { TestWorker, startTestWorker, testQueue, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(60_000);

const HOUR = Date.parse('2030-05-01T10:00:00Z');
const click = (linkId: string, i: number, over: Partial<QueuedClick> = {}): QueuedClick => ({
  linkId,
  at: HOUR + i * 1000,
  referrerHost: 'ref.example',
  userAgent: USER_AGENTS.chromeWindows,
  visitorHash: `visitor-${i % 3}`,
  country: 'FR',
  ...over,
});

describe('rollup idempotency', () => {
  let worker: TestWorker;
  let clicks: Queue;
  let db: Client;
  const completed = new Map<string, unknown>();

  beforeAll(async () => {
    worker = await startTestWorker({ QUEUE_PREFIX: uniqueQueuePrefix('rollup'), WORKER_CONCURRENCY: '4' });
    worker.workers.workerFor('clicks').on('completed', (job: Job) => completed.set(String(job.id), job.returnvalue));
    clicks = testQueue(worker.config);
    db = await testDatabase();
  });
  afterAll(async () => {
    await worker?.close();
    await clicks?.close();
    await db?.end();
  });

  const add = (data: ClickBatchJobData, jobId: string) => clicks.add(JOBS.clickBatch.name, data, { ...CLICK_BATCH_JOB_OPTIONS, jobId });
  const completion = (jobId: string) =>
    waitUntil(`job ${jobId} to complete`, async () => ({ done: completed.has(jobId), state: await clicks.getJobCounts() }), {
      timeoutMs: 30_000,
      stallTimeoutMs: 10_000,
    });

  it('counts a batch delivered twice, under its own id and under another, exactly once', async () => {
    const link = await insertLink(db, 'twice');
    const batch: ClickBatchJobData = { v: 1, batchId: `batch-${link.id}`, clicks: [0, 1, 2, 3].map((i) => click(link.id, i)) };
    batch.clicks.push(click(link.id, 4, { userAgent: USER_AGENTS.googlebot, visitorHash: 'bot' }));

    await add(batch, batch.batchId);
    await completion(batch.batchId);
    const first = await rollupOf(db, link.id);
    // The first job was removed on completion, so BullMQ accepts the same id again: the batch-id table must stop it.
    completed.delete(batch.batchId);
    await add(batch, batch.batchId);
    await completion(batch.batchId);
    await add(batch, `${batch.batchId}-replayed`);
    await completion(`${batch.batchId}-replayed`);

    expect(first).toEqual({
      hourly: [{ hour: '2030-05-01T10:00:00.000Z', human: 4, bot: 1 }],
      dimensions: [
        { day: '2030-05-01', dimension: 'browser', value: 'Chrome', clicks: 4 },
        { day: '2030-05-01', dimension: 'country', value: 'FR', clicks: 4 },
        { day: '2030-05-01', dimension: 'device', value: 'desktop', clicks: 4 },
        { day: '2030-05-01', dimension: 'os', value: 'Windows', clicks: 4 },
        { day: '2030-05-01', dimension: 'referrer', value: 'ref.example', clicks: 4 },
      ],
      visitorDays: ['2030-05-01'],
      clickTotal: 5,
    });
    expect(await rollupOf(db, link.id)).toEqual(first);
    expect([completed.get(batch.batchId), completed.get(`${batch.batchId}-replayed`)]).toEqual([
      { batchId: batch.batchId, duplicate: true, committed: 0 },
      { batchId: batch.batchId, duplicate: true, committed: 0 },
    ]);
  });

  it('keeps counts and unique visitors exact when many batches of one link and hour commit concurrently', async () => {
    const link = await insertLink(db, 'concurrent');
    const batches = Array.from({ length: 24 }, (_, b) => ({
      v: 1 as const,
      batchId: `conc-${link.id}-${b}`,
      clicks: Array.from({ length: 25 }, (_, i) =>
        click(link.id, i, { visitorHash: `v-${(b * 25 + i) % 60}`, userAgent: i % 5 === 0 ? USER_AGENTS.curl : USER_AGENTS.safariIphone }),
      ),
    }));
    await clicks.addBulk(batches.map((data) => ({ name: JOBS.clickBatch.name, data, opts: { ...CLICK_BATCH_JOB_OPTIONS, jobId: data.batchId } })));
    await waitForQueueIdle(clicks);
    const rollup = await rollupOf(db, link.id);
    expect({ hourly: rollup.hourly, clickTotal: rollup.clickTotal }).toEqual({
      hourly: [{ hour: '2030-05-01T10:00:00.000Z', human: 480, bot: 120 }],
      clickTotal: 600,
    });
    const { rows } = await db.query<{ hll: Buffer }>(`SELECT hll FROM link_visitors_daily WHERE link_id = $1`, [link.id]);
    const uniqueVisitors = await worker.app.get(VisitorHllStore).unionCount(rows.map((r) => r.hll));
    expect(uniqueVisitors).toBe(48);
  });

  it('commits a batch directly once and reports the second commit as a duplicate', async () => {
    const link = await insertLink(db, 'direct');
    const rollup = worker.app.get(ClickRollupService);
    const batchClicks = [click(link.id, 0), click('999999999999', 1)];
    expect(await rollup.commit(`direct-${link.id}`, batchClicks)).toEqual({ batchId: `direct-${link.id}`, duplicate: false, committed: 1 });
    expect(await rollup.commit(`direct-${link.id}`, batchClicks)).toEqual({ batchId: `direct-${link.id}`, duplicate: true, committed: 0 });
    expect((await rollupOf(db, link.id)).clickTotal).toBe(1);
  });

  it('fails a payload it cannot read for good, keeps it inspectable and counts it as exhausted', async () => {
    const metrics = worker.app.get(MetricsService);
    const exhausted = async () => (await metrics.jobsExhausted.get()).values.find((v) => v.labels.name === JOBS.clickBatch.name)?.value ?? 0;
    const before = await exhausted();
    await clicks.add(
      JOBS.clickBatch.name,
      { v: 99, batchId: 'future', clicks: [] },
      {
        ...CLICK_BATCH_JOB_OPTIONS,
        jobId: 'future-format',
      },
    );
    await waitUntil(
      'the job to fail',
      async () => {
        const state = await clicks.getJobState('future-format');
        return { done: state === 'failed', state };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    const job = await clicks.getJob('future-format');
    expect({ attempts: job?.attemptsMade, reason: job?.failedReason }).toEqual({
      attempts: 1,
      reason: 'click batch future-format: unknown payload version 99',
    });
    await waitUntil('the exhausted counter', async () => ({ done: (await exhausted()) === before + 1, state: await exhausted() }), {
      timeoutMs: 30_000,
      stallTimeoutMs: 10_000,
    });
    await clicks.remove('future-format');
  });
});
