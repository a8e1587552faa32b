import type { Response } from 'supertest';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createdCode } from '../support/links';

/**
 * Bad input never answers 500, and is never stored altered: text that
 * PostgreSQL cannot hold (a lone UTF-16 surrogate, which a JSON escape such
 * as `\ud800` writes), pagination cursors whose numbers overflow a bigint or
 * a timestamp, instants outside years 1-9999 (UTC) and numbers outside their
 * bounds answer 400 problem+json naming the member or parameter
 * (`errors[]` of `pointer` and `detail`). In a bulk create only the bad item
 * fails, with its index in the pointer.
 */

const SURROGATE = 'must not contain a lone surrogate (U+D800-U+DFFF)';
const INSTANT_RANGE = 'must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC';
const CURSOR = 'must be the nextCursor value of a previous page';

type Method = 'get' | 'post' | 'patch';

/** What a refusal is made of: status, media type, problem type and the members it names. */
function refusal(res: Response) {
  return {
    status: res.status,
    contentType: String(res.headers['content-type']).split(';')[0],
    type: res.body?.type,
    errors: res.body?.errors,
  };
}

/** The refusal a test expects: 400 problem+json of `code` with these `errors`. */
function refused(code: string, errors: { pointer: string; detail: string }[]) {
  return { status: 400, contentType: 'application/problem+json', type: `urn:shortener:problem:${code}`, errors };
}

const base64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

describe('bad input answers 400 naming the field, never 500', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  /**
   * Sends `body` as JSON text: a string is sent as it is; anything else
   * through JSON.stringify, which writes a lone surrogate as its escape.
   */
  function send(method: Method, path: string, body?: unknown, headers: Record<string, string> = {}) {
    let req = api.http()[method](path).set('authorization', api.adminAuth);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    if (body === undefined) return req;
    return req
      .set('content-type', method === 'patch' ? 'application/merge-patch+json' : 'application/json')
      .send(typeof body === 'string' ? body : JSON.stringify(body));
  }
  const get = (path: string) => send('get', path);
  const bulk = (items: unknown[], key: string) => send('post', '/api/v1/links/bulk', { items }, { 'idempotency-key': key });

  it('sends lone surrogates as JSON escapes, the way a client writes them', () => {
    expect(JSON.stringify({ title: 'a\ud800' })).toBe('{"title":"a\\ud800"}');
  });

  it('refuses a lone surrogate in any member of a link create with 400 naming it, and stores nothing', async () => {
    const marker = uniqueAlias('surrogate-create');
    const url = `https://example.com/${marker}`;
    const cases: [Record<string, unknown>, string, Record<string, string>?][] = [
      [{ url: `${url}/\ud800` }, '/url'],
      [{ url, title: 'a\ud800' }, '/title'],
      [{ url, tags: ['ok', '\udc00'] }, '/tags/1'],
      [{ url, alias: `${marker}\ud800` }, '/alias'],
      [{ url, domain: 'short.example\udbff' }, '/domain'],
      [{ url, 'x\ud800': 1 }, '/x\ud800'],
      // With a key the answer is stored to be replayed: jsonb refuses the escape.
      [{ url, title: '\ude00\ud83d' }, '/title', { 'idempotency-key': `${marker}-k` }],
    ];
    for (const [body, pointer, headers] of cases) {
      expect(refusal(await send('post', '/api/v1/links', body, headers))).toEqual(
        refused('validation-failed', [{ pointer, detail: `${SURROGATE} (body member)` }]),
      );
    }
    const stored = await get(`/api/v1/links?q=${marker}`);
    expect([stored.status, stored.body.items]).toEqual([200, []]);
  });

  it('refuses a lone surrogate in a link change and leaves the link as it was', async () => {
    const alias = uniqueAlias('surrogate-patch');
    await createdCode(api, { url: `https://example.com/${alias}`, alias, title: 'before', tags: ['kept'] });
    for (const [body, pointer] of [
      [{ title: 'after\ud800' }, '/title'],
      [{ url: `https://example.com/${alias}/\udfff` }, '/url'],
      [{ tags: ['\ud800\ud800'] }, '/tags/0'],
    ] as const) {
      expect(refusal(await send('patch', `/api/v1/links/${alias}`, body))).toEqual(
        refused('validation-failed', [{ pointer, detail: `${SURROGATE} (body member)` }]),
      );
    }
    const link = await get(`/api/v1/links/${alias}`);
    expect([link.status, link.body.title, link.body.url, link.body.tags]).toEqual([200, 'before', `https://example.com/${alias}`, ['kept']]);
  });

  it('refuses a lone surrogate in the admin routes (blocklist, API keys), and stores nothing', async () => {
    const host = `${uniqueAlias('surrogate')}.example`;
    expect(refusal(await send('post', '/api/v1/blocklist', { host, reason: 'phishing\ud800' }))).toEqual(
      refused('validation-failed', [{ pointer: '/reason', detail: `${SURROGATE} (body member)` }]),
    );
    expect(refusal(await send('post', '/api/v1/api-keys', { name: 'ci\udc00', role: 'member' }))).toEqual(
      refused('validation-failed', [{ pointer: '/name', detail: `${SURROGATE} (body member)` }]),
    );
    const list = await get('/api/v1/blocklist');
    expect(list.body.items.filter((e: { host: string }) => e.host === host)).toEqual([]);
  });

  it('fails only the bulk items with a lone surrogate, naming their index; the others are created and a replay is the same', async () => {
    const marker = uniqueAlias('surrogate-bulk');
    const url = (n: number) => `https://example.com/${marker}/${n}`;
    const items = [
      { url: url(0) },
      { url: url(1), title: 'a\ud800' },
      { url: `${url(2)}\udc00` },
      { url: url(3), tags: ['ok', '\ud800'] },
      { url: url(4), domain: '\ud800' },
      { url: url(5), 'k\ud800': 1 },
      { url: url(6) },
    ];
    const res = await bulk(items, marker);
    expect(res.status).toBe(200);
    const results = res.body.results as {
      status: number;
      link?: { url: string; code: string };
      problem?: { type: string; status: number; errors: unknown };
    }[];
    expect(results.map((r) => [r.status, r.link?.url ?? r.problem?.type, r.problem?.status, r.problem?.errors])).toEqual([
      [201, url(0), undefined, undefined],
      [400, 'urn:shortener:problem:validation-failed', 400, [{ pointer: '/items/1/title', detail: SURROGATE }]],
      [400, 'urn:shortener:problem:validation-failed', 400, [{ pointer: '/items/2/url', detail: SURROGATE }]],
      [400, 'urn:shortener:problem:validation-failed', 400, [{ pointer: '/items/3/tags/1', detail: SURROGATE }]],
      [400, 'urn:shortener:problem:validation-failed', 400, [{ pointer: '/items/4/domain', detail: SURROGATE }]],
      // The unknown member's name cannot be stored as it is: U+FFFD stands for the lone surrogate.
      [400, 'urn:shortener:problem:validation-failed', 400, [{ pointer: '/items/5', detail: 'Unrecognized key: "k\ufffd"' }]],
      [201, url(6), undefined, undefined],
    ]);
    for (const created of [results[0], results[6]]) {
      expect((await api.http().get(`/${created.link!.code}`)).headers.location).toBe(created.link!.url);
    }
    const again = await bulk(items, marker);
    expect([again.status, again.headers['idempotent-replayed'], again.text]).toEqual([200, 'true', res.text]);
    // Another refused item is another request.
    const other = await bulk([...items.slice(0, 1), { url: url(1), title: 'b\ud800' }, ...items.slice(2)], marker);
    expect([other.status, other.body.type]).toEqual([422, 'urn:shortener:problem:idempotency-key-reused']);
  });

  it('fails only the bulk items their schema refuses, whatever the reason; the envelope is still refused as a whole', async () => {
    const marker = uniqueAlias('bulk-items');
    const res = await send('post', '/api/v1/links/bulk', {
      items: [
        { url: `https://example.com/${marker}/0` },
        { url: 'https://example.com/', maxClicks: 0 },
        null,
        { url: 'https://example.com/', expiresAt: '9999-12-31T23:59:59-23:59' },
        'https://example.com/',
        { url: `https://example.com/${marker}/5` },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: number; problem?: { errors: unknown } }) => [r.status, r.problem?.errors])).toEqual([
      [201, undefined],
      [400, [{ pointer: '/items/1/maxClicks', detail: 'Too small: expected number to be >=1' }]],
      [400, [{ pointer: '/items/2', detail: 'Invalid input: expected object, received null' }]],
      [400, [{ pointer: '/items/3/expiresAt', detail: INSTANT_RANGE }]],
      [400, [{ pointer: '/items/4', detail: 'Invalid input: expected object, received string' }]],
      [201, undefined],
    ]);
    expect(refusal(await send('post', '/api/v1/links/bulk', { items: [{ url: 'https://example.com/' }], extra: 1 }))).toEqual(
      refused('validation-failed', [{ pointer: '/', detail: 'Unrecognized key: "extra"' }]),
    );
  });

  it('refuses a huge or malformed list cursor with 400 cursor-invalid naming the parameter', async () => {
    for (const cursor of [
      base64url('12345678901234567890.1'),
      base64url('1.12345678901234567890'),
      base64url('9223372036854775807.1'),
      `${base64url('1.1')}!!!`,
    ]) {
      expect(refusal(await get(`/api/v1/links?cursor=${encodeURIComponent(cursor)}`))).toEqual(
        refused('cursor-invalid', [{ pointer: '/cursor', detail: CURSOR }]),
      );
    }
    const tag = uniqueAlias('cursor');
    for (const n of [1, 2]) await createdCode(api, { url: `https://example.com/${tag}/${n}`, tags: [tag] });
    const first = await get(`/api/v1/links?tag=${tag}&limit=1`);
    const second = await get(`/api/v1/links?tag=${tag}&limit=1&cursor=${first.body.nextCursor}`);
    expect([second.status, second.body.items.map((l: { url: string }) => l.url), second.body.nextCursor]).toEqual([
      200,
      [`https://example.com/${tag}/1`],
      null,
    ]);
  });

  it('refuses an audit cursor beyond a bigint or not as the API writes it, naming the parameter', async () => {
    for (const cursor of [base64url('audit.12345678901234567890'), base64url('audit.9223372036854775808'), `${base64url('audit.5')}~`]) {
      expect(refusal(await get(`/api/v1/audit?cursor=${encodeURIComponent(cursor)}`))).toEqual(
        refused('cursor-invalid', [{ pointer: '/cursor', detail: CURSOR }]),
      );
    }
    const first = await get('/api/v1/audit?limit=1');
    expect((await get(`/api/v1/audit?limit=1&cursor=${first.body.nextCursor}`)).status).toBe(200);
  });

  it('refuses stats ranges outside years 1-9999 (UTC) with 400 naming the field', async () => {
    const code = await createdCode(api, { url: 'https://example.com/stats-range', alias: uniqueAlias('stats-range') });
    const stats = (query: Record<string, string>) => get(`/api/v1/links/${code}/stats?${new URLSearchParams(query).toString()}`);
    expect(refusal(await stats({ from: '0000-01-01T00:00:00Z', to: '0000-01-02T00:00:00Z' }))).toEqual(
      refused('validation-failed', [
        { pointer: '/from', detail: INSTANT_RANGE },
        { pointer: '/to', detail: INSTANT_RANGE },
      ]),
    );
    expect(refusal(await stats({ from: '0001-01-01T00:00:00+01:00', to: '0001-01-02T00:00:00Z' }))).toEqual(
      refused('validation-failed', [{ pointer: '/from', detail: INSTANT_RANGE }]),
    );
    expect(refusal(await stats({ from: '9999-12-31T00:00:00Z', to: '9999-12-31T23:59:59-23:59', granularity: 'hour' }))).toEqual(
      refused('validation-failed', [{ pointer: '/to', detail: INSTANT_RANGE }]),
    );
    expect(refusal(await stats({ to: '0001-01-02T00:00:00Z' }))).toEqual(
      refused('stats-range-invalid', [
        { pointer: '/to', detail: 'the default range (30 day buckets up to to) would start before 0001-01-01T00:00:00Z: give from' },
      ]),
    );
    expect(refusal(await stats({ from: '9999-12-01T00:00:00Z', to: '9999-12-31T23:59:59Z' }))).toEqual(
      refused('stats-range-invalid', [{ pointer: '/to', detail: 'ceiled to the day, must not be after 9999-12-31T23:59:59.999Z' }]),
    );
  });

  it('answers stats ranges at the edges of years 1 and 9999', async () => {
    const code = await createdCode(api, { url: 'https://example.com/stats-edges', alias: uniqueAlias('stats-edges') });
    const stats = (query: Record<string, string>) => get(`/api/v1/links/${code}/stats?${new URLSearchParams(query).toString()}`);
    const first = await stats({ from: '0001-01-01T00:00:00Z', to: '0001-01-03T00:00:00Z' });
    const last = await stats({ from: '9999-12-31T21:00:00Z', to: '9999-12-31T23:00:00Z', granularity: 'hour' });
    expect([first.status, first.body.from, first.body.to, first.body.series.length, first.body.totals.clicks]).toEqual([
      200,
      '0001-01-01T00:00:00.000Z',
      '0001-01-03T00:00:00.000Z',
      2,
      0,
    ]);
    expect([last.status, last.body.from, last.body.to, last.body.series.length, last.body.totals.clicks]).toEqual([
      200,
      '9999-12-31T21:00:00.000Z',
      '9999-12-31T23:00:00.000Z',
      2,
      0,
    ]);
  });

  it('refuses expiresAt outside years 1-9999 (UTC), naming it, and takes the last instant', async () => {
    for (const expiresAt of ['9999-12-31T23:59:59-23:59', '0000-12-31T23:59:59Z']) {
      expect(refusal(await send('post', '/api/v1/links', { url: 'https://example.com/expiry', expiresAt }))).toEqual(
        refused('validation-failed', [{ pointer: '/expiresAt', detail: INSTANT_RANGE }]),
      );
    }
    const alias = uniqueAlias('expiry');
    const created = await send('post', '/api/v1/links', { url: 'https://example.com/expiry', alias, expiresAt: '9999-12-31T23:59:59.999Z' });
    expect([created.status, created.body.expiresAt]).toEqual([201, '9999-12-31T23:59:59.999Z']);
    expect(refusal(await send('patch', `/api/v1/links/${alias}`, { expiresAt: '9999-12-31T23:59:59-00:01' }))).toEqual(
      refused('validation-failed', [{ pointer: '/expiresAt', detail: INSTANT_RANGE }]),
    );
    expect([(await get(`/api/v1/links/${alias}`)).body.expiresAt, (await api.http().get(`/${alias}`)).status]).toEqual(['9999-12-31T23:59:59.999Z', 302]);
  });

  it('refuses numbers beyond their bounds and NaN or Infinity spellings with 400 naming the field', async () => {
    const code = await createdCode(api, { url: 'https://example.com/numbers', alias: uniqueAlias('numbers') });
    const cases: [Method, string, string | undefined, string][] = [
      ['post', '/api/v1/links', '{"url":"https://example.com/","maxClicks":1e400}', '/maxClicks'],
      ['post', '/api/v1/links', '{"url":"https://example.com/","maxClicks":1000000000001}', '/maxClicks'],
      ['post', '/api/v1/links', '{"url":"https://example.com/","maxClicks":1.5}', '/maxClicks'],
      ['post', '/api/v1/links', '{"url":"https://example.com/","redirectType":-1e400}', '/redirectType'],
      ['patch', `/api/v1/links/${code}`, '{"maxClicks":99999999999999999999}', '/maxClicks'],
      ['get', '/api/v1/links?limit=NaN', undefined, '/limit'],
      ['get', '/api/v1/links?limit=Infinity', undefined, '/limit'],
      ['get', '/api/v1/links?limit=-Infinity', undefined, '/limit'],
      ['get', '/api/v1/links?limit=1e400', undefined, '/limit'],
      ['get', '/api/v1/links?limit=99999999999999999999', undefined, '/limit'],
      ['get', '/api/v1/audit?limit=9007199254740993', undefined, '/limit'],
      ['get', `/api/v1/links/${code}/qr?size=NaN`, undefined, '/size'],
      ['get', `/api/v1/links/${code}/qr?size=99999999999999999999`, undefined, '/size'],
      ['get', `/api/v1/links/${code}/qr?size=2049`, undefined, '/size'],
      ['get', `/api/v1/links/${code}/qr?size=63`, undefined, '/size'],
    ];
    for (const [method, path, body, pointer] of cases) {
      const res = await send(method, path, body);
      const named = [...new Set((res.body.errors as { pointer: string }[]).map((e) => e.pointer))];
      expect([method, path, res.status, res.body.type, named]).toEqual([method, path, 400, 'urn:shortener:problem:validation-failed', [pointer]]);
    }
  });

  it('renders the largest QR code PNG without holding the event loop: a list request behind ten of them answers within 1 s', async () => {
    const code = await createdCode(api, { url: 'https://example.com/qr-largest', alias: uniqueAlias('qr-largest') });
    const png = () =>
      get(`/api/v1/links/${code}/qr?size=2048`)
        .buffer(true)
        .parse((res, done) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            done(null, Buffer.concat(chunks));
          });
        });
    // then() sends a supertest request: these ten are on their way before the list request.
    const images = Array.from({ length: 10 }, () => png().then((r) => r));
    const started = performance.now();
    const list = await get('/api/v1/links?limit=1');
    const elapsed = performance.now() - started;
    const answers = await Promise.all(images);
    expect(answers.map((r) => [r.status, (r.body as Buffer).readUInt32BE(16), (r.body as Buffer).readUInt32BE(20)])).toEqual(Array(10).fill([200, 2048, 2048]));
    expect(list.status).toBe(200);
    // Bound: 200 ms for a list request behind them, times a 5x margin (a renderer filling 4 bytes per pixel in JavaScript holds it for seconds).
    expect(elapsed).toBeLessThan(1_000);
  });
});
