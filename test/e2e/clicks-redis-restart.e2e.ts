import type { Queue } from 'bullmq';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode, drainClicks } from '../support/click-pipeline';
import { OwnedRedis, startOwnedRedis } from '../support/engines';
import { USER_AGENTS } from '../support/user-agents';
import { TestWorker, startTestWorker, testQueue, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(60_000);

describe('unique visitors across a Redis restart', () => {
  const env = { QUEUE_PREFIX: uniqueQueuePrefix('redis-restart'), TRUSTED_PROXIES: '127.0.0.1' };
  let owned: OwnedRedis;
  let api: TestApi;
  let worker: TestWorker;
  let clicks: Queue;

  beforeAll(async () => {
    owned = await startOwnedRedis();
    api = await startTestApi(env);
    // The worker's cache Redis, where it computes HyperLogLogs, is the test's own server.
    worker = await startTestWorker({ ...env, REDIS_CACHE_URL: owned.url });
    clicks = testQueue(api.config);
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await clicks?.close();
    await owned?.stop();
  });

  const visit = (code: string, ip: string) => api.http().get(`/${code}`).set('user-agent', USER_AGENTS.chromeWindows).set('x-forwarded-for', ip);
  const totals = async (code: string) => (await api.http().get(`/api/v1/links/${code}/stats`).set('authorization', api.adminAuth)).body.totals;

  it("loses no committed unique visitor when the worker's Redis restarts empty", async () => {
    const code = await createLinkCode(api, { url: 'https://example.com/hll', alias: uniqueAlias('hll') });
    for (const ip of ['10.5.0.1', '10.5.0.2', '10.5.0.1']) expect((await visit(code, ip)).status).toBe(302);
    await drainClicks(api, clicks);
    expect(await totals(code)).toEqual({ clicks: 3, humanClicks: 3, botClicks: 0, uniqueVisitors: 2 });

    // A crash: its HyperLogLogs are gone when it comes back.
    await owned.stop('SIGKILL');
    await owned.start();

    // A returning visitor and a new one: 3 distinct visitors in all, not 2 (lost) or 4 (recounted).
    for (const ip of ['10.5.0.1', '10.5.0.3']) expect((await visit(code, ip)).status).toBe(302);
    await drainClicks(api, clicks);
    expect(await totals(code)).toEqual({ clicks: 5, humanClicks: 5, botClicks: 0, uniqueVisitors: 3 });
  });
});
