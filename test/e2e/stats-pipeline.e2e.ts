import { MetricsService } from '@shortener/observability';
import type { Queue } from 'bullmq';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { awayFromHourBoundary, createLinkCode, currentHourStart, drainClicks } from '../support/click-pipeline';
import { expectProblem } from '../support/problem';
import { USER_AGENTS } from '../support/user-agents';
import { TestWorker, startTestWorker, testQueue, uniqueQueuePrefix } from '../support/worker-app';

jest.setTimeout(60_000);

/** One visit: who (client address through the trusted proxy), with what agent, from where. */
interface Visit {
  ua: string;
  ip: string;
  referer?: string;
  country?: string;
}

describe('click pipeline: redirects become exact stats', () => {
  const env = {
    QUEUE_PREFIX: uniqueQueuePrefix('stats'),
    // Loopback is the trusted proxy, so X-Forwarded-For names distinct visitors.
    TRUSTED_PROXIES: '127.0.0.1',
    CLICK_COUNTRY_HEADER: 'cf-ipcountry',
    CLICK_BATCH_SIZE: '4',
  };
  let api: TestApi;
  let worker: TestWorker;
  let clicks: Queue;

  beforeAll(async () => {
    api = await startTestApi(env);
    worker = await startTestWorker(env);
    clicks = testQueue(api.config);
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await clicks?.close();
  });

  const visit = (code: string, v: Visit, method: 'get' | 'head' = 'get') => {
    const req = api.http()[method](`/${code}`).set('user-agent', v.ua).set('x-forwarded-for', v.ip);
    if (v.referer) void req.set('referer', v.referer);
    if (v.country) void req.set('cf-ipcountry', v.country);
    return req;
  };
  const stats = (code: string, query: Record<string, string> = {}) =>
    api.http().get(`/api/v1/links/${code}/stats`).query(query).set('authorization', api.adminAuth);

  it('turns human and bot redirects with several referrers into exact totals, hourly and daily series and top lists', async () => {
    const url = `https://example.com/${uniqueAlias('stats-target')}`;
    const code = await createLinkCode(api, { url, alias: uniqueAlias('stats') });
    const visits: Visit[] = [
      ...Array.from({ length: 3 }, () => ({ ua: USER_AGENTS.chromeWindows, ip: '10.0.0.1', referer: 'https://news.ycombinator.com/item?id=1', country: 'DE' })),
      ...Array.from({ length: 2 }, () => ({ ua: USER_AGENTS.safariIphone, ip: '10.0.0.2', referer: 'https://www.google.com/search?q=x', country: 'US' })),
      { ua: USER_AGENTS.firefoxLinux, ip: '10.0.0.3' },
      { ua: USER_AGENTS.safariIpad, ip: '10.0.0.1', referer: 'https://t.co/abc', country: 'DE' },
      { ua: USER_AGENTS.googlebot, ip: '66.249.66.1' },
      { ua: USER_AGENTS.googlebot, ip: '66.249.66.1', referer: 'https://www.google.com/' },
      { ua: USER_AGENTS.curl, ip: '10.0.0.9' },
    ];
    await awayFromHourBoundary();
    const hour = currentHourStart();
    for (const v of visits) expect((await visit(code, v)).status).toBe(302);
    await drainClicks(api, clicks);

    const hourly = await stats(code, {
      granularity: 'hour',
      from: new Date(hour - 3_600_000).toISOString(),
      to: new Date(hour + 3_600_000).toISOString(),
    });
    expect(hourly.status).toBe(200);
    expect(hourly.body).toEqual({
      code,
      domain: 'short.example',
      granularity: 'hour',
      from: new Date(hour - 3_600_000).toISOString(),
      to: new Date(hour + 3_600_000).toISOString(),
      totals: { clicks: 10, humanClicks: 7, botClicks: 3, uniqueVisitors: 3 },
      series: [
        { start: new Date(hour - 3_600_000).toISOString(), humanClicks: 0, botClicks: 0 },
        { start: new Date(hour).toISOString(), humanClicks: 7, botClicks: 3 },
      ],
      referrers: [
        { value: 'news.ycombinator.com', clicks: 3 },
        { value: 'www.google.com', clicks: 2 },
        { value: null, clicks: 1 },
        { value: 't.co', clicks: 1 },
      ],
      countries: [
        { value: 'DE', clicks: 4 },
        { value: 'US', clicks: 2 },
        { value: null, clicks: 1 },
      ],
      browsers: [
        { value: 'Chrome', clicks: 3 },
        { value: 'Mobile Safari', clicks: 3 },
        { value: 'Firefox', clicks: 1 },
      ],
      operatingSystems: [
        { value: 'Windows', clicks: 3 },
        { value: 'iOS', clicks: 3 },
        { value: 'Linux', clicks: 1 },
      ],
      deviceTypes: [
        { value: 'desktop', clicks: 4 },
        { value: 'mobile', clicks: 2 },
        { value: 'tablet', clicks: 1 },
      ],
    });

    // The default range: the last 30 UTC days, today last.
    const daily = await stats(code);
    expect(daily.status).toBe(200);
    const today = new Date(hour - (hour % 86_400_000)).toISOString();
    expect({ points: daily.body.series.length, last: daily.body.series.at(-1), totals: daily.body.totals }).toEqual({
      points: 30,
      last: { start: today, humanClicks: 7, botClicks: 3 },
      totals: { clicks: 10, humanClicks: 7, botClicks: 3, uniqueVisitors: 3 },
    });

    // The link list shows the same total.
    const list = await api.http().get('/api/v1/links').query({ q: url }).set('authorization', api.adminAuth);
    expect(list.body.items.map((l: { code: string; clicks: number }) => [l.code, l.clicks])).toEqual([[code, daily.body.totals.clicks]]);
  });

  it('never counts HEAD, and counts GETs answered from the in-process cache', async () => {
    const code = await createLinkCode(api, { url: 'https://example.com/head', alias: uniqueAlias('head') });
    const metrics = api.app.get(MetricsService);
    const lruRedirects = async () =>
      (await metrics.redirects.get()).values.find((v) => v.labels.outcome === 'redirect' && v.labels.cache === 'lru')?.value ?? 0;
    const human = { ua: USER_AGENTS.chromeWindows, ip: '10.1.0.1' };
    expect((await visit(code, human)).status).toBe(302);
    const lruBefore = await lruRedirects();
    for (let i = 0; i < 3; i += 1) expect((await visit(code, human)).status).toBe(302);
    for (let i = 0; i < 3; i += 1) expect((await visit(code, human, 'head')).status).toBe(302);
    expect(await lruRedirects()).toBe(lruBefore + 6);
    await drainClicks(api, clicks);
    expect((await stats(code)).body.totals).toEqual({ clicks: 4, humanClicks: 4, botClicks: 0, uniqueVisitors: 1 });
  });

  it('C20: a link with 2 committed clicks PATCHed to maxClicks 3 redirects once more, then answers 410', async () => {
    const code = await createLinkCode(api, { url: 'https://example.com/c20', alias: uniqueAlias('c20') });
    const human = { ua: USER_AGENTS.firefoxLinux, ip: '10.2.0.1' };
    for (let i = 0; i < 2; i += 1) expect((await visit(code, human)).status).toBe(302);
    // The limit counts the committed clicks (LinkService.update copies click_total): drain first.
    await drainClicks(api, clicks);
    const patched = await api.http().patch(`/api/v1/links/${code}`).set('authorization', api.adminAuth).send({ maxClicks: 3 });
    expect({ status: patched.status, clicks: patched.body.clicks, maxClicks: patched.body.maxClicks }).toEqual({ status: 200, clicks: 2, maxClicks: 3 });
    expect((await visit(code, human)).status).toBe(302);
    expectProblem(await visit(code, human), 410, 'link-gone');
  });

  it('answers 400 stats-range-invalid for an empty range or too many points, and 404 for an unknown code', async () => {
    const code = await createLinkCode(api, { url: 'https://example.com/range', alias: uniqueAlias('range') });
    expectProblem(await stats(code, { from: '2030-01-02T00:00:00Z', to: '2030-01-01T00:00:00Z' }), 400, 'stats-range-invalid');
    expectProblem(await stats(code, { granularity: 'hour', from: '2030-01-01T00:00:00Z', to: '2030-03-01T00:00:00Z' }), 400, 'stats-range-invalid');
    expectProblem(await stats(code, { from: '2030-01-01T00:00:00' }), 400, 'validation-failed');
    expectProblem(await stats(code, { granularity: 'week' }), 400, 'validation-failed');
    expectProblem(await stats(uniqueAlias('missing')), 404, 'link-not-found');
  });
});
