import { ManagementServer, startManagementServer } from '@shortener/observability';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { startTestApi, TestApi, uniqueAlias } from '../support/api-app';

/**
 * The API's HTTP metrics and request ids on the booted app (docs/design.md
 * section 7): every public request observed under its route template,
 * unknown routes under a fixed label, text format clean for promtool.
 */
describe('HTTP metrics and request ids (API)', () => {
  let api: TestApi;
  let management: ManagementServer;
  const alias = uniqueAlias('m');

  const scrape = async (accept?: string) => {
    const res = await fetch(`http://127.0.0.1:${management.port}/metrics`, { headers: accept ? { accept } : {} });
    return { contentType: res.headers.get('content-type'), body: await res.text() };
  };
  const count = (body: string, method: string, route: string, status: number): number | undefined => {
    const line = body
      .split('\n')
      .find((l) => l.startsWith(`http_server_request_duration_seconds_count{method="${method}",route="${route}",status_code="${status}"} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  beforeAll(async () => {
    api = await startTestApi();
    management = await startManagementServer(api.app, api.config);
    const auth = { authorization: api.adminAuth };
    expect((await api.http().post('/api/v1/links').set(auth).send({ url: 'https://example.com/m', alias })).status).toBe(201);
    const statuses = [
      (await api.http().get(`/${alias}`)).status,
      (await api.http().get(`/${alias}/`)).status,
      (await api.http().head(`/${alias}`)).status,
      (await api.http().get(`/${alias}-missing`)).status,
      (await api.http().get(`/api/v1/links/${alias}`).set(auth)).status,
      (await api.http().get(`/api/v1/links/${alias}-missing`).set(auth)).status,
      (await api.http().get(`/api/v1/links/${alias}`)).status,
      (await api.http().get(`/no/such/${alias}/route`)).status,
    ];
    expect(statuses).toEqual([302, 302, 302, 404, 200, 404, 401, 404]);
  }, 30_000);

  afterAll(async () => {
    await management?.close();
    await api?.close();
  });

  it('answers anything but /metrics and /health/* on the management port with a not-found problem', async () => {
    const res = await fetch(`http://127.0.0.1:${management.port}/nope?x=1`, { method: 'POST' });
    expect({ status: res.status, contentType: res.headers.get('content-type'), body: await res.json() }).toEqual({
      status: 404,
      contentType: 'application/problem+json; charset=utf-8',
      body: { type: 'urn:shortener:problem:not-found', title: 'Not found', status: 404, detail: 'POST /nope is not served on the management port' },
    });
  });

  it('answers a method the management port does not serve at a path with 405 and Allow, and oversized headers with a 431 problem', async () => {
    const wrong = await fetch(`http://127.0.0.1:${management.port}/metrics`, { method: 'POST' });
    expect({ status: wrong.status, allow: wrong.headers.get('allow'), body: await wrong.json() }).toEqual({
      status: 405,
      allow: 'GET, HEAD',
      body: {
        type: 'urn:shortener:problem:method-not-allowed',
        title: 'Method not allowed',
        status: 405,
        detail: 'POST is not served at this path; allowed: GET, HEAD',
      },
    });
    const big = await new Promise<string>((resolve, reject) => {
      const socket = connect(management.port, '127.0.0.1', () =>
        socket.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('end', () => {
        resolve(text);
      });
      socket.on('error', reject);
    });
    expect([big.split('\r\n')[0], JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))]).toEqual([
      'HTTP/1.1 431 Request Header Fields Too Large',
      {
        type: 'urn:shortener:problem:request-header-too-large',
        title: 'The request headers are too large',
        status: 431,
        detail: 'The request line and headers exceed the server limit',
      },
    ]);
  });

  it('observes every response under its method, route template and status code', async () => {
    const { contentType, body } = await scrape();
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect({
      create: count(body, 'POST', '/api/v1/links', 201),
      redirects: count(body, 'GET', '/:code', 302),
      head: count(body, 'HEAD', '/:code', 302),
      unknownCode: count(body, 'GET', '/:code', 404),
      read: count(body, 'GET', '/api/v1/links/:code', 200),
      readMissing: count(body, 'GET', '/api/v1/links/:code', 404),
      unauthenticated: count(body, 'GET', '/api/v1/links/:code', 401),
      unmatched: count(body, 'GET', 'unmatched', 404),
    }).toEqual({ create: 1, redirects: 2, head: 1, unknownCode: 1, read: 1, readMissing: 1, unauthenticated: 1, unmatched: 1 });
    // Label values are templates: no raw path ever becomes a label.
    expect(body.includes(alias)).toBe(false);
    // Every redirect in the +Inf bucket; the 50 ms boundary is there (how many fell under it depends on the machine's load).
    expect(body).toMatch(/^http_server_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/:code",status_code="302"\} 2$/m);
    expect(body).toMatch(/^http_server_request_duration_seconds_bucket\{le="0\.05",method="GET",route="\/:code",status_code="302"\} [0-2]$/m);
    expect(body).toMatch(/^shortener_redirects_total\{outcome="redirect",cache="(lru|redis|db)"\} \d+$/m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });

  it('passes promtool check metrics after real traffic', async () => {
    const { body } = await scrape();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}` }).toEqual({ status: 0, output: '' });
  });

  it('answers OpenMetrics when the scraper negotiates it', async () => {
    const { contentType, body } = await scrape('application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1');
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(body.endsWith('# EOF\n')).toBe(true);
    // OpenMetrics names the counter family without the suffix and its samples with it.
    expect(body).toMatch(/^# TYPE shortener_links_created counter$/m);
    expect(body).toMatch(/^shortener_links_created_total\{domain="short\.example"\} 1$/m);
  });

  it('takes a well-formed x-request-id, replaces any other, and echoes it', async () => {
    const given = await api.http().get(`/${alias}`).set('x-request-id', 'req-123:abc');
    const forged = await api.http().get(`/${alias}`).set('x-request-id', 'two words\tand a tab');
    const none = await api.http().get('/api/v1/nothing');
    expect([given.headers['x-request-id'], forged.headers['x-request-id'], none.headers['x-request-id']]).toEqual([
      'req-123:abc',
      expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    ]);
  });
});
