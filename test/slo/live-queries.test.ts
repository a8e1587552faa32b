// Every PromQL query the project ships, against the real thing: a real
// Prometheus (1 s scrape and rule evaluation, the project's rule files)
// scrapes the compiled API and worker while the test drives traffic through
// them: creates, a maximum-size bulk create (a slow request), redirects
// answered by the LRU and by PostgreSQL, 404, 410, 400 and 401 answers, clicks
// the worker rolls up, and a PostgreSQL outage of the API for 5xx answers on
// the redirect and on the REST API (the availability SLIs divide by a 5xx
// series that only exists after a failure). Then every dashboard panel query
// (Grafana's variables expanded as for a 1 s scrape interval and a 1 h range)
// and every rule expression goes through `/api/v1/query`: each parses, and
// each returns data, except the alert-state and `absent()` panels and the
// alert conditions, which a healthy system leaves empty (deploy/slo/queries.ts
// marks them parse-only). No query is exempt.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePrometheus, freePort, type RunningPrometheus, startPrometheus } from '../../deploy/local/prometheus';
import { REPO_ROOT } from '../../deploy/slo/files';
import { JOBS } from '../../deploy/slo/operational';
import { collectQueries, grafanaExpansion, type PromQuery } from '../../deploy/slo/queries';
import { type CompiledApp, startCompiledApp } from '../support/compiled-app';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { ADMIN_URL, databaseUrl, TEST_ADMIN_KEY, workerDatabaseName } from '../support/test-env';
import { waitUntil } from '../support/wait';

/** Scrape and rule evaluation interval of the test's Prometheus, seconds. */
const INTERVAL_SECONDS = 1;
/** The dashboards' default time range (`now-1h`), for `$__range`. */
const RANGE_SECONDS = 3600;
const ADMIN = `Bearer ${TEST_ADMIN_KEY}`;
/** The routes the traffic drives (the readiness probe also hits /api/openapi.json). */
const DRIVEN = 'route=~"/:code|/api/v1/.*"';

interface QueryResult {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] | [number, string] };
}

/** Number of samples of an instant query's result (a scalar or string counts as one). */
function sampleCount(r: QueryResult): number {
  if (r.data?.resultType === 'scalar' || r.data?.resultType === 'string') return 1;
  return Array.isArray(r.data?.result) ? r.data.result.length : 0;
}

describe('every dashboard panel query and rule against a real Prometheus scraping the real apps', () => {
  const queries = collectQueries(REPO_ROOT, grafanaExpansion(INTERVAL_SECONDS, RANGE_SECONDS));
  let dir: string | undefined;
  let proxy: TcpProxy | undefined;
  let apiApp: CompiledApp | undefined;
  let workerApp: CompiledApp | undefined;
  let prom: RunningPrometheus | undefined;
  let serial = 0;
  /** 302 answers of the traffic. */
  let redirected = 0;

  const alias = (label: string) => `live-${label}-${process.env.JEST_WORKER_ID ?? '1'}-${Date.now().toString(36)}-${(serial += 1)}`;

  /** A request to the API (redirects not followed): the status and the parsed JSON body, if any. */
  async function call(method: string, path: string, body?: unknown, auth: string | null = ADMIN): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (auth !== null) headers.authorization = auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${apiApp!.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
    const text = await res.text();
    return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
  }

  const redirect = async (code: string) => (await call('GET', `/${encodeURIComponent(code)}`, undefined, null)).status;

  async function create(label: string, extra: Record<string, unknown> = {}): Promise<string> {
    const res = await call('POST', '/api/v1/links', { url: `https://example.com/${label}`, alias: alias(label), ...extra });
    if (res.status !== 201) throw new Error(`create: expected 201, got ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.code as string;
  }

  async function query(expr: string): Promise<QueryResult> {
    const res = await fetch(`${prom!.url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    return (await res.json()) as QueryResult;
  }

  /** Label values of an instant vector's series, sorted. */
  async function series(expr: string, labels: readonly string[]): Promise<string[]> {
    const r = await query(expr);
    if (r.status !== 'success' || !Array.isArray(r.data?.result)) throw new Error(`${expr}: ${r.errorType}: ${r.error}`);
    return (r.data.result as { metric: Record<string, string>; value: [number, string] }[])
      .map((s) => [...labels.map((l) => s.metric[l] ?? ''), s.value[1]].join(' '))
      .sort();
  }

  /** Every query once: those Prometheus refuses, and those that must return data and return none. */
  async function runAll(): Promise<{ failures: string[]; noData: string[] }> {
    const results = await Promise.all(queries.map(async (q: PromQuery) => ({ q, r: await query(q.expr) })));
    return {
      failures: results.filter(({ r }) => r.status !== 'success').map(({ q, r }) => `${q.source}: ${r.errorType}: ${r.error}`),
      noData: results.filter(({ q, r }) => q.expectsData && r.status === 'success' && sampleCount(r) === 0).map(({ q }) => `${q.source}: ${q.expr}`),
    };
  }

  // Installs Debian's prometheus package on a fresh machine (apt-get can take minutes).
  beforeAll(() => {
    ensurePrometheus();
  }, 600_000);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slo-live-'));
    // The API reaches PostgreSQL through a proxy the test can cut: an outage
    // of this API alone, without touching the server other Jest workers use.
    const server = new URL(ADMIN_URL);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const viaProxy = new URL(databaseUrl(workerDatabaseName()));
    viaProxy.port = String(proxy.port);
    // Settled one by one, so afterAll stops whichever started when the other fails.
    const [api, worker] = await Promise.allSettled([
      startCompiledApp('api', {
        DATABASE_URL: viaProxy.toString(),
        // The bulk create below is read at 64 KiB/s: a request slower than the API latency threshold (300 ms) whatever the machine.
        HTTP_BULK_BODY_BYTES_PER_SECOND: '65536',
        HTTP_BULK_BODY_LIMIT_BYTES: '262144',
      }),
      startCompiledApp('worker'),
    ]);
    apiApp = api.status === 'fulfilled' ? api.value : undefined;
    workerApp = worker.status === 'fulfilled' ? worker.value : undefined;
    for (const s of [api, worker]) if (s.status === 'rejected') throw s.reason;
    prom = await startPrometheus({
      dir,
      port: await freePort(),
      intervalSeconds: INTERVAL_SECONDS,
      targets: [
        { job: JOBS.api, target: new URL(apiApp!.managementUrl).host },
        { job: JOBS.worker, target: new URL(workerApp!.managementUrl).host },
      ],
    });
  }, 90_000);

  afterAll(async () => {
    const stopped = await Promise.allSettled([prom?.stop(), apiApp?.stop(), workerApp?.stop()]);
    await proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    const failed = stopped.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) throw new Error(`stopping failed: ${failed.map((r) => String(r.reason)).join('; ')}`);
  }, 60_000);

  it('has 124 panel queries, 61 recording rules and 15 alert conditions; parse-only are the alert state panels and the alert conditions', () => {
    const count = (kind: PromQuery['kind']) => queries.filter((q) => q.kind === kind).length;
    expect([count('panel'), count('recording'), count('alert')]).toEqual([124, 61, 15]);
    expect(queries.filter((q) => !q.expectsData && q.kind !== 'alert').map((q) => q.source)).toEqual([
      'shortener-slo-overview / Redirect availability: 99.9% over 30 days / Alerts firing / A',
      'shortener-slo-overview / Redirect latency: 99% over 30 days / Alerts firing / A',
      'shortener-slo-overview / API availability: 99.5% over 30 days / Alerts firing / A',
      'shortener-slo-overview / Click freshness: 99% over 30 days / Alerts firing / A',
      'shortener-slo-overview / Alerts / Alert state / A',
      'shortener-slo-overview / Alerts / Alerts now / A',
    ]);
    expect(queries.filter((q) => q.kind === 'alert' && q.expectsData)).toEqual([]);
  });

  it('drives traffic: creates, a 1,000-item bulk create, LRU hits, misses, 404, 410, 400, 401, and 503 during a PostgreSQL outage', async () => {
    const codes = [await create('one'), await create('two'), await create('three')];

    // A slow request: a bulk create of the maximum 1,000 items, 150 KB read at 64 KiB/s (over a second).
    const bulk = await call('POST', '/api/v1/links/bulk', {
      items: Array.from({ length: 1000 }, (_, i) => ({ url: `https://example.com/bulk/${i}?${'p'.repeat(110)}` })),
    });
    const bulkResults = bulk.body.results as { status: number; link: { code: string } }[];
    expect([bulk.status, bulkResults.length, bulkResults.filter((r) => r.status === 201).length]).toEqual([200, 1000, 1000]);

    // Redirects: three codes five times each (the LRU answers the repeats),
    // ten bulk-created codes once each (LRU and Redis misses, PostgreSQL answers).
    const redirects: number[] = [];
    for (let round = 0; round < 5; round += 1) for (const code of codes) redirects.push(await redirect(code));
    for (const r of bulkResults.slice(0, 10)) redirects.push(await redirect(r.link.code));
    expect(redirects).toEqual(Array(25).fill(302));
    // Unknown codes.
    expect([await redirect(alias('unknown')), await redirect(alias('unknown')), await redirect(alias('unknown'))]).toEqual([404, 404, 404]);
    // A link that expires in 1.5 s: 302 until its expiry, 410 from then on (polled).
    const expiring = await create('expiring', { expiresAt: new Date(Date.now() + 1_500).toISOString() });
    const beforeExpiry: number[] = [];
    const expired = await waitUntil(
      'the link to expire',
      async () => {
        const status = await redirect(expiring);
        if (status !== 410) beforeExpiry.push(status);
        return { done: status === 410, state: status };
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect([expired, beforeExpiry.filter((s) => s !== 302)]).toEqual([410, []]);
    redirected = 25 + beforeExpiry.length;

    // API errors: 400 (a target scheme not allowed), 401 (no key, an unknown key), 404 (no such link).
    expect([
      (await call('POST', '/api/v1/links', { url: 'ftp://example.com/x' })).status,
      (await call('GET', '/api/v1/links', undefined, null)).status,
      (await call('GET', '/api/v1/links', undefined, 'Bearer sk_nope0000000001_0123456789abcdefghijklmnopqrstuv')).status,
      (await call('GET', `/api/v1/links/${alias('missing')}`)).status,
      (await call('GET', '/api/v1/links')).status,
    ]).toEqual([400, 401, 401, 404, 200]);

    // A PostgreSQL outage of the API: a code in no cache and an API read fail.
    proxy!.cut();
    let outage: number[];
    try {
      outage = [await redirect(alias('outage')), (await call('GET', `/api/v1/links/${alias('outage')}`)).status];
    } finally {
      proxy!.restore();
    }
    // Both answer 503 dependency-unavailable with Retry-After: 5xx that the availability SLIs count.
    expect(outage).toEqual([503, 503]);
    await waitUntil('the API to reach PostgreSQL again', async () => (await call('GET', `/api/v1/links/${alias('back')}`)).status === 404, {
      timeoutMs: 15_000,
      intervalMs: 100,
    });
  }, 60_000);

  it('scrapes both apps every second', async () => {
    await waitUntil('both app targets to be up', async () => sampleCount(await query(`up{job=~"${JOBS.api}|${JOBS.worker}"} == 1`)) === 2, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    expect(await series('scrape_duration_seconds{job!="prometheus"}', ['job'])).toEqual([
      expect.stringMatching(/^shortener-api /),
      expect.stringMatching(/^shortener-worker /),
    ]);
  }, 30_000);

  it('every query parses, and every one that must returns data', async () => {
    // Scrapes and rule evaluations run every second: poll (with a deadline)
    // until the worker's rollups are scraped and the chained recordings
    // (5m ratio, 30d ratio, period burn rate, budget left) exist.
    const last = await waitUntil(
      'every query to parse and return data',
      async () => {
        const state = await runAll();
        return { done: state.failures.length === 0 && state.noData.length === 0, state };
      },
      { timeoutMs: 40_000, intervalMs: 500 },
    );
    expect(last).toEqual({ failures: [], noData: [] });
  }, 60_000);

  it('scraped the series of every SLI: 5xx on both routes, the slow bulk create, the committed clicks', async () => {
    expect(await series(`sum by (route, status_code) (http_server_request_duration_seconds_count{${DRIVEN}}) > 0`, ['route', 'status_code'])).toEqual(
      [
        '/:code 302',
        '/:code 404',
        '/:code 410',
        '/:code 503',
        '/api/v1/links 200',
        '/api/v1/links 201',
        '/api/v1/links 400',
        '/api/v1/links 401',
        '/api/v1/links/:code 404',
        '/api/v1/links/:code 503',
        '/api/v1/links/bulk 200',
      ].map((s) => expect.stringMatching(new RegExp(`^${s.replace(/[/.:]/g, '\\$&')} \\d+$`))),
    );
    // The one redirect of the outage; the paced bulk create took longer than 300 ms.
    expect(await series('sum(http_server_request_duration_seconds_count{route="/:code",status_code="503"})', [])).toEqual(['1']);
    expect(
      await series(
        'sum(http_server_request_duration_seconds_count{route="/api/v1/links/bulk"}) - sum(http_server_request_duration_seconds_bucket{route="/api/v1/links/bulk",le="0.3"})',
        [],
      ),
    ).toEqual(['1']);
    expect(await series('sum by (job) (shortener_click_ingest_lag_seconds_count) > 0', ['job'])).toEqual([expect.stringMatching(/^shortener-worker \d+$/)]);
    // The outcomes of the redirects, the 503 of the outage included (a failed lookup: outcome error).
    expect(await series('sum by (outcome) (shortener_redirects_total)', ['outcome'])).toEqual(['error 1', 'gone 1', 'not_found 3', `redirect ${redirected}`]);
  });

  it('evaluates every rule of the project without error', async () => {
    const body = (await (await fetch(`${prom!.url}/api/v1/rules`)).json()) as {
      data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const rules = body.data.groups.flatMap((g) => g.rules.map((r) => ({ rule: `${g.name} / ${r.name}`, health: r.health, lastError: r.lastError ?? '' })));
    expect(rules).toHaveLength(76);
    expect(rules.filter((r) => r.health !== 'ok')).toEqual([]);
  });
});
