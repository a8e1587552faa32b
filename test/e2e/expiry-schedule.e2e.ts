import { MetricsService } from '@shortener/observability';
import { JOBS, QUEUES } from '@shortener/queue';
import { InvalidationBus, InvalidationMessage } from '@shortener/redis';
import type { Job, Queue } from 'bullmq';
import type { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode } from '../support/click-pipeline';
import { waitUntil } from '../support/wait';
import { expectProblem } from '../support/problem';
import { testDatabase } from '../support/rollup-fixtures';
import { TestWorker, startTestWorker, testQueue, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(60_000);

describe('expiry', () => {
  const env = { QUEUE_PREFIX: uniqueQueuePrefix('expiry'), EXPIRY_INTERVAL_MS: '1000' };
  let api: TestApi;
  const workers: TestWorker[] = [];
  let maintenance: Queue;
  let db: Client;
  const sweeps: { worker: number; id: string }[] = [];
  const watch = (w: TestWorker, n: number) =>
    w.workers.workerFor(QUEUES.maintenance).on('completed', (job: Job) => {
      if (job.name === JOBS.expirySweep.name) sweeps.push({ worker: n, id: String(job.id) });
    });

  beforeAll(async () => {
    api = await startTestApi(env);
    maintenance = testQueue(api.config, QUEUES.maintenance);
    db = await testDatabase();
  });
  afterAll(async () => {
    await api?.close();
    for (const w of workers) await w.close();
    await maintenance?.obliterate({ force: true });
    await maintenance?.close();
    await db?.end();
  });

  it('refuses a link past expiresAt at once, from the cache, and the schedule retires it and evicts it everywhere', async () => {
    const messages: InvalidationMessage[] = [];
    api.app.get(InvalidationBus).subscribe((m) => messages.push(m));
    const expiresAt = Date.now() + 1_500;
    const code = await createLinkCode(api, { url: 'https://example.com/expiring', alias: uniqueAlias('exp'), expiresAt: new Date(expiresAt).toISOString() });
    expect((await api.http().get(`/${code}`)).status).toBe(302);

    const metrics = api.app.get(MetricsService);
    const goneFromLru = async () => (await metrics.redirects.get()).values.find((v) => v.labels.outcome === 'gone' && v.labels.cache === 'lru')?.value ?? 0;
    const goneBefore = await goneFromLru();
    const refusedAt = await waitUntil(
      'the redirect to refuse the link',
      async () => {
        const res = await api.http().get(`/${code}`);
        return { done: res.status === 410, state: res.status === 410 ? Date.now() : res.status };
      },
      { intervalMs: 10, timeoutMs: 10_000, stallTimeoutMs: 10_000 },
    );
    // At once: no worker runs yet, the link is still cached in the LRU and unmarked, and the pod clock refuses it.
    expect(refusedAt).toBeGreaterThanOrEqual(expiresAt);
    expect(await goneFromLru()).toBe(goneBefore + 1);
    expect((await db.query(`SELECT expired_at FROM links WHERE code = $1`, [code])).rows).toEqual([{ expired_at: null }]);

    workers.push(await startTestWorker(env));
    watch(workers[0], 0);

    const expiredAt = await waitUntil(
      'the expiry schedule to mark the link',
      async () => {
        const { rows } = await db.query<{ expired_at: Date | null }>(`SELECT expired_at FROM links WHERE code = $1`, [code]);
        return { done: rows[0].expired_at !== null, state: rows[0].expired_at };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    expect(expiredAt!.getTime()).toBeGreaterThanOrEqual(expiresAt);
    // The worker's eviction reached this API process through the invalidation bus.
    await waitUntil(
      'the eviction to reach the API',
      async () => ({
        done: messages.some((m) => m.kind === 'link' && m.code === code && m.domain === 'short.example'),
        state: messages.length,
      }),
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    expectProblem(await api.http().get(`/${code}`), 410, 'link-gone');
    const link = await api.http().get(`/api/v1/links/${code}`).set('authorization', api.adminAuth);
    expect(link.body.state).toBe('expired');
  });

  it('runs each expiry tick once when two workers share the schedule', async () => {
    workers.push(await startTestWorker(env));
    watch(workers[1], 1);
    const start = sweeps.length;
    await waitUntil('four more expiry ticks', async () => ({ done: sweeps.length >= start + 4, state: sweeps.length }), {
      timeoutMs: 20_000,
      stallTimeoutMs: 10_000,
    });
    const ids = sweeps.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Scheduler job ids carry the tick's instant: one job per instant, a whole number of intervals apart.
    const ticks = ids.map((id) => Number(/:(\d+)$/.exec(id)?.[1])).sort((a, b) => a - b);
    expect(ticks.every((t, i) => i === 0 || (t - ticks[i - 1] >= 1000 && (t - ticks[i - 1]) % 1000 === 0))).toBe(true);
    const schedulers = await maintenance.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every]).sort()).toEqual([
      ['expiry-sweep', 1000],
      ['housekeeping', 900000],
    ]);
  });
});
