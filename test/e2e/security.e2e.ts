import { AddressInfo, connect } from 'node:net';
import { ApiKeyService } from '@shortener/auth';
import { InvalidationBus } from '@shortener/redis';
import { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { ChildApp, startChildApp } from '../support/child-process';
import { createdCode, mintKey } from '../support/links';
import { expectProblem } from '../support/problem';
import { waitUntil } from '../support/wait';

/**
 * API hardening (docs/design.md section 9): security headers on API responses
 * (not on redirects), a CSP the docs UI works under, CORS off unless
 * configured, body size limits, JSON-only bodies; and access control between
 * accounts and roles, with revocation effective at once on every process.
 */

/** What @fastify/helmet sends on JSON responses, with our CSP and frameguard. */
const API_SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'DENY',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};
const DOCS_CSP =
  "default-src 'self';base-uri 'self';connect-src 'self';font-src 'self' data:;form-action 'self';frame-ancestors 'none';" +
  "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline'";

function securityHeaders(headers: Record<string, string>): Record<string, string | undefined> {
  return Object.fromEntries(Object.keys(API_SECURITY_HEADERS).map((name) => [name, headers[name]]));
}

/** A CSP as directive name -> sources. */
function parseCsp(header: string): Record<string, string[]> {
  return Object.fromEntries(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .map(([name, ...sources]) => [name, sources]),
  );
}

describe('security headers, CORS, body limits and JSON only', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ HTTP_BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(() => api.close());

  it('sends the security headers on API responses, successes and errors alike', async () => {
    const responses = [
      await api.http().get('/api/v1/links').set('authorization', api.adminAuth),
      await api.http().get('/api/v1/links'),
      await api.http().get('/api/v1/links/no-such-link').set('authorization', api.adminAuth),
      await api.http().get('/api/openapi.json'),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 200]);
    for (const res of responses) expect(securityHeaders(res.headers)).toEqual(API_SECURITY_HEADERS);
  });

  it('sends none on the redirect (no document to protect; the hot path stays lean)', async () => {
    const code = await createdCode(api, { url: 'https://example.com/plain', alias: uniqueAlias('plain') });
    for (const res of [await api.http().get(`/${code}`), await api.http().get(`/${code}-missing`)]) {
      expect(Object.values(securityHeaders(res.headers)).filter((v) => v !== undefined)).toEqual([]);
    }
  });

  it('serves the docs UI under a CSP it works with: every script and style is same-origin, no inline script', async () => {
    const page = await api.http().get('/api/docs');
    expect(page.status).toBe(200);
    const csp = parseCsp(page.headers['content-security-policy']);
    expect(page.headers['content-security-policy']).toBe(DOCS_CSP);
    expect({ script: csp['script-src'], style: csp['style-src'] }).toEqual({ script: ["'self'"], style: ["'self'", "'unsafe-inline'"] });

    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map(([, attrs, body]) => ({
      src: /\bsrc="([^"]+)"/.exec(attrs)?.[1],
      body: body.trim(),
    }));
    const stylesheets = [...page.text.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*>/gi)].map(([tag]) => /\bhref="([^"]+)"/.exec(tag)?.[1]);
    // Inline script would need 'unsafe-inline' or a hash; the UI's configuration is an external script.
    expect(scripts.filter((s) => !s.src || s.body !== '')).toEqual([]);
    expect(scripts.map((s) => s.src)).toEqual(['./docs/swagger-ui-bundle.js', './docs/swagger-ui-standalone-preset.js', './docs/swagger-ui-init.js']);
    expect(stylesheets).toEqual(['./docs/swagger-ui.css']);
    const base = new URL('http://short.example/api/docs');
    for (const [href, type] of [...scripts.map((s) => [s.src!, 'application/javascript'] as const), ...stylesheets.map((h) => [h!, 'text/css'] as const)]) {
      const url = new URL(href, base);
      expect(url.origin).toBe(base.origin);
      const asset = await api.http().get(url.pathname);
      expect({
        href,
        status: asset.status,
        type: String(asset.headers['content-type']).split(';')[0],
        nosniff: asset.headers['x-content-type-options'],
      }).toEqual({
        href,
        status: 200,
        type,
        nosniff: 'nosniff',
      });
    }
    // `script-src 'self'` without 'unsafe-eval': the UI's own configuration script does not eval.
    const init = await api.http().get('/api/docs/swagger-ui-init.js');
    expect(/\beval\s*\(|new Function\s*\(/.test(init.text)).toBe(false);
  });

  it('answers cross-origin requests without CORS headers when CORS_ORIGINS is not set', async () => {
    const preflight = await api
      .http()
      .options('/api/v1/links')
      .set('origin', 'https://app.example')
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'authorization,content-type');
    const simple = await api.http().get('/api/v1/links').set('origin', 'https://app.example').set('authorization', api.adminAuth);
    // No OPTIONS route without CORS: the preflight is a method the path is not served with.
    expect([preflight.status, preflight.headers.allow, simple.status]).toEqual([405, 'GET, HEAD, POST', 200]);
    for (const res of [preflight, simple]) expect(Object.keys(res.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  });

  it('refuses a body above HTTP_BODY_LIMIT_BYTES with 413 and stores nothing', async () => {
    const alias = uniqueAlias('big');
    const res = await api
      .http()
      .post('/api/v1/links')
      .set('authorization', api.adminAuth)
      .send({ url: `https://example.com/?q=${'a'.repeat(3000)}`, alias });
    expectProblem(res, 413, 'payload-too-large');
    expect((await api.http().get(`/api/v1/links/${alias}`).set('authorization', api.adminAuth)).status).toBe(404);
  });

  it.each([
    ['text/plain', 'https://example.com/'],
    ['application/x-www-form-urlencoded', 'url=https%3A%2F%2Fexample.com%2F'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="url"\r\n\r\nhttps://example.com/\r\n--x--\r\n'],
    ['application/xml', '<link><url>https://example.com/</url></link>'],
  ])('refuses a %s body with 415 on create and on PATCH', async (type, body) => {
    const code = await createdCode(api, { url: 'https://example.com/json-only', alias: uniqueAlias('json') });
    const create = await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set('content-type', type).send(body);
    const patch = await api.http().patch(`/api/v1/links/${code}`).set('authorization', api.adminAuth).set('content-type', type).send(body);
    expectProblem(create, 415, 'unsupported-media-type');
    expectProblem(patch, 415, 'unsupported-media-type');
  });

  it('accepts JSON with a charset, and JSON Merge Patch on PATCH', async () => {
    const alias = uniqueAlias('json');
    const created = await api
      .http()
      .post('/api/v1/links')
      .set('authorization', api.adminAuth)
      .set('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ url: 'https://example.com/a', alias }));
    const patched = await api
      .http()
      .patch(`/api/v1/links/${alias}`)
      .set('authorization', api.adminAuth)
      .set('content-type', 'application/merge-patch+json')
      .send(JSON.stringify({ title: 'merged' }));
    expect([created.status, patched.status, patched.body.title]).toEqual([201, 200, 'merged']);
  });

  it('refuses U+0000 anywhere in API input with a 400 naming the member, and answers 404 for such a code at the redirect', async () => {
    const auth = api.adminAuth;
    const cases = [
      await api.http().post('/api/v1/links').set('authorization', auth).send({ url: 'https://example.com/', title: 'a\u0000b' }),
      await api
        .http()
        .post('/api/v1/links')
        .set('authorization', auth)
        .send({ url: 'https://example.com/', tags: ['ok', '\u0000'] }),
      await api.http().get('/api/v1/links?tag=%00').set('authorization', auth),
      await api.http().get('/api/v1/links/a%00b/stats').set('authorization', auth),
      await api.http().get('/api/v1/audit?link=%00').set('authorization', auth),
    ];
    for (const res of cases) expectProblem(res, 400, 'validation-failed');
    expect(cases.map((r) => r.body.errors[0])).toEqual([
      { pointer: '/title', detail: 'must not contain U+0000 (body member)' },
      { pointer: '/tags/1', detail: 'must not contain U+0000 (body member)' },
      { pointer: '/tag', detail: 'must not contain U+0000 (query parameter)' },
      { pointer: '/code', detail: 'must not contain U+0000 (path parameter)' },
      { pointer: '/link', detail: 'must not contain U+0000 (query parameter)' },
    ]);
    expectProblem(await api.http().get('/a%00b'), 404, 'link-not-found');
    // Targets keep their own, more precise problem (docs/cases.md C11).
    expectProblem(
      await api.http().post('/api/v1/links').set('authorization', auth).send({ url: 'https://example.com/\u0000' }),
      400,
      'target-control-character',
    );
  });

  it('fails only the bulk items with U+0000, naming their index; the others are created and a replay is the same', async () => {
    const marker = uniqueAlias('nul-bulk');
    const url = (n: number) => `https://example.com/${marker}/${n}`;
    const items = [
      { url: url(0) },
      { url: url(1), 'x\u0000': 1 },
      { url: url(2), title: 'a\u0000b' },
      { url: url(3), tags: ['ok', '\u0000'] },
      { url: `${url(4)}\u0000` },
      { url: url(5) },
    ];
    const bulk = () => api.http().post('/api/v1/links/bulk').set('authorization', api.adminAuth).set('idempotency-key', marker).send({ items });
    const res = await bulk();
    expect(res.status).toBe(200);
    const results = res.body.results as { status: number; link?: { url: string; code: string }; problem?: { type: string; errors?: unknown } }[];
    expect(results.map((r) => [r.status, r.link?.url ?? r.problem?.type, r.problem?.errors])).toEqual([
      [201, url(0), undefined],
      // The unknown member's name cannot be stored as it is (the result is kept for the Idempotency-Key): U+FFFD stands for U+0000.
      [400, 'urn:shortener:problem:validation-failed', [{ pointer: '/items/1', detail: 'Unrecognized key: "x\ufffd"' }]],
      [400, 'urn:shortener:problem:validation-failed', [{ pointer: '/items/2/title', detail: 'must not contain U+0000' }]],
      [400, 'urn:shortener:problem:validation-failed', [{ pointer: '/items/3/tags/1', detail: 'must not contain U+0000' }]],
      // Targets keep their own problem in a bulk item too.
      [400, 'urn:shortener:problem:target-control-character', undefined],
      [201, url(5), undefined],
    ]);
    for (const created of [results[0], results[5]]) {
      expect((await api.http().get(`/${created.link!.code}`)).headers.location).toBe(created.link!.url);
    }
    const again = await bulk();
    expect([again.status, again.headers['idempotent-replayed'], again.text]).toEqual([200, 'true', res.text]);
  });

  it('answers a path with broken percent-encoding with a 400 problem, on the API and the redirect', async () => {
    expectProblem(await api.http().get('/%E0%A4%A'), 400, 'validation-failed');
    expectProblem(await api.http().get('/api/v1/links/%E0%A4%A').set('authorization', api.adminAuth), 400, 'validation-failed');
  });
});

describe('CORS when CORS_ORIGINS is set', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ CORS_ORIGINS: 'https://app.example' });
  });
  afterAll(() => api.close());

  it('answers preflights of the configured origin only, and exposes the rate-limit fields', async () => {
    const preflight = (origin: string) =>
      api
        .http()
        .options('/api/v1/links')
        .set('origin', origin)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization,content-type');
    const allowed = await preflight('https://app.example');
    expect(allowed.status).toBe(204);
    expect({
      origin: allowed.headers['access-control-allow-origin'],
      methods: allowed.headers['access-control-allow-methods'],
      headers: allowed.headers['access-control-allow-headers'],
      maxAge: allowed.headers['access-control-max-age'],
    }).toEqual({
      origin: 'https://app.example',
      methods: 'GET, HEAD, POST, PATCH, DELETE',
      headers: 'authorization, content-type, idempotency-key, x-request-id',
      maxAge: '600',
    });
    const simple = await api.http().get('/api/v1/links').set('origin', 'https://app.example').set('authorization', api.adminAuth);
    expect({ origin: simple.headers['access-control-allow-origin'], exposed: simple.headers['access-control-expose-headers'] }).toEqual({
      origin: 'https://app.example',
      exposed: 'location, retry-after, ratelimit, ratelimit-policy, idempotent-replayed, x-request-id',
    });
    const other = await preflight('https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('access control between accounts and roles', () => {
  let api: TestApi;
  let replica: ChildApp;
  beforeAll(async () => {
    api = await startTestApi();
    replica = await startChildApp('api');
  });
  afterAll(async () => {
    await api.close();
    await replica.stop();
  });

  it("a member key cannot read, change or delete another account's links: 404, and the link is untouched", async () => {
    const owner = await mintKey(api, 'member');
    const stranger = await mintKey(api, 'member');
    const code = await createdCode(api, { url: 'https://example.com/mine', alias: uniqueAlias('mine'), title: 'mine' }, owner.auth);
    const path = `/api/v1/links/${code}`;
    const attempts = [
      await api.http().get(path).set('authorization', stranger.auth),
      await api.http().patch(path).set('authorization', stranger.auth).send({ url: 'https://attacker.example/' }),
      await api.http().delete(path).set('authorization', stranger.auth),
      await api.http().get(`/api/v1/links/${code}/stats`).set('authorization', stranger.auth),
    ];
    for (const res of attempts) expectProblem(res, 404, 'link-not-found');
    const listed = await api.http().get('/api/v1/links?limit=100').set('authorization', stranger.auth);
    expect(listed.body.items).toEqual([]);
    const mine = await api.http().get(path).set('authorization', owner.auth);
    expect({ status: mine.status, url: mine.body.url, title: mine.body.title, state: mine.body.state }).toEqual({
      status: 200,
      url: 'https://example.com/mine',
      title: 'mine',
      state: 'active',
    });
    expect((await api.http().get(`/${code}`)).headers.location).toBe('https://example.com/mine');
  });

  it("a read-only key reads its account's links and cannot write: 403", async () => {
    const member = await mintKey(api, 'member');
    const reader = await mintKey(api, 'read_only', member.accountId);
    const code = await createdCode(api, { url: 'https://example.com/ro', alias: uniqueAlias('ro') }, member.auth);
    expect((await api.http().get(`/api/v1/links/${code}`).set('authorization', reader.auth)).status).toBe(200);
    const writes = [
      await api.http().post('/api/v1/links').set('authorization', reader.auth).send({ url: 'https://example.com/new' }),
      await api.http().patch(`/api/v1/links/${code}`).set('authorization', reader.auth).send({ title: 'changed' }),
      await api.http().delete(`/api/v1/links/${code}`).set('authorization', reader.auth),
      await api.http().post('/api/v1/api-keys').set('authorization', reader.auth).send({ name: 'escalate', role: 'admin' }),
      await api.http().post('/api/v1/blocklist').set('authorization', reader.auth).send({ host: 'example.com' }),
    ];
    for (const res of writes) expectProblem(res, 403, 'forbidden');
    const after = await api.http().get(`/api/v1/links/${code}`).set('authorization', member.auth);
    expect({ title: after.body.title, state: after.body.state }).toEqual({ title: null, state: 'active' });
  });

  it('a revoked key is refused at once on every API process', async () => {
    const key = await mintKey(api, 'member');
    const onReplica = () => fetch(`${replica.url}/api/v1/links`, { headers: { authorization: key.auth } }).then((r) => r.status);
    expect([(await api.http().get('/api/v1/links').set('authorization', key.auth)).status, await onReplica()]).toEqual([200, 200]);
    expect((await api.http().delete(`/api/v1/api-keys/${key.id}`).set('authorization', api.adminAuth)).status).toBe(200);
    // The very next request, on this process and the other one: no grace period.
    const [here, there] = await Promise.all([
      api.http().get('/api/v1/links').set('authorization', key.auth),
      fetch(`${replica.url}/api/v1/links`, { headers: { authorization: key.auth } }),
    ]);
    expectProblem(here, 401, 'unauthenticated');
    expect({ status: there.status, type: ((await there.json()) as { type: string }).type }).toEqual({
      status: 401,
      type: 'urn:shortener:problem:unauthenticated',
    });
  });

  it('a bootstrap re-key of a cached key: every running process refuses the old secret and takes the new one at once', async () => {
    const prefix = `rekey${Date.now().toString(36)}w${process.env.JEST_WORKER_ID ?? '1'}`;
    const oldKey = `sk_${prefix}_${'o'.repeat(40)}`;
    const newKey = `sk_${prefix}_${'n'.repeat(40)}`;
    const statuses = async (key: string) => [
      (await api.http().get('/api/v1/links').set('authorization', `Bearer ${key}`)).status,
      (await fetch(`${replica.url}/api/v1/links`, { headers: { authorization: `Bearer ${key}` } })).status,
    ];
    const first = await startTestApi({ BOOTSTRAP_ADMIN_KEY: oldKey });
    await first.close();
    // Both processes now hold the old key in their caches.
    expect(await statuses(oldKey)).toEqual([200, 200]);
    const second = await startTestApi({ BOOTSTRAP_ADMIN_KEY: newKey });
    try {
      expect({ old: await statuses(oldKey), new: await statuses(newKey) }).toEqual({ old: [401, 401], new: [200, 200] });
    } finally {
      await second.close();
    }
  });
});

describe('API-key cache (prefix -> stored hash, evicted through the invalidation bus)', () => {
  let api: TestApi;
  let db: Client;
  beforeAll(async () => {
    api = await startTestApi();
    db = new Client({ connectionString: api.config.db.url });
    await db.connect();
  });
  afterAll(async () => {
    await db.end();
    await api.close();
  });

  const token = (auth: string) => auth.replace(/^Bearer /, '');
  const prefixOf = (auth: string) => token(auth).split('_')[1];
  /** Revokes in PostgreSQL only: no bus message, so only the cache's own rules decide what the app sees. */
  const revokeBehindTheCache = (id: string) => db.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [id]);

  it('answers a cached key without PostgreSQL, and a key message on the bus evicts it', async () => {
    const keys = api.app.get(ApiKeyService);
    const key = await mintKey(api, 'member');
    expect((await keys.authenticate(token(key.auth)))?.accountId).toBe(key.accountId);
    await revokeBehindTheCache(key.id);
    expect((await keys.authenticate(token(key.auth)))?.accountId).toBe(key.accountId);
    await api.app.get(InvalidationBus).publish({ kind: 'api-key', prefix: prefixOf(key.auth) });
    expect(await keys.authenticate(token(key.auth))).toBeNull();
  });

  it('still checks the secret on every request: a cached prefix with a wrong secret is refused', async () => {
    const key = await mintKey(api, 'member');
    expect((await api.http().get('/api/v1/links').set('authorization', key.auth)).status).toBe(200);
    const forged = `Bearer sk_${prefixOf(key.auth)}_${'x'.repeat(40)}`;
    expectProblem(await api.http().get('/api/v1/links').set('authorization', forged), 401, 'unauthenticated');
    expect((await api.http().get('/api/v1/links').set('authorization', key.auth)).status).toBe(200);
  });

  it('does not cache a lookup that was running when a key invalidation arrived', async () => {
    const keys = api.app.get(ApiKeyService);
    const key = await mintKey(api, 'member');
    const lookup = keys.authenticate(token(key.auth));
    // As if a revocation committed and its message arrived while the row was being read.
    await api.app.get(InvalidationBus).publish({ kind: 'api-key', prefix: prefixOf(key.auth) });
    expect((await lookup)?.accountId).toBe(key.accountId);
    await revokeBehindTheCache(key.id);
    expect(await keys.authenticate(token(key.auth))).toBeNull();
  });

  it('forgets every key on `all`', async () => {
    const keys = api.app.get(ApiKeyService);
    const key = await mintKey(api, 'member');
    expect((await keys.authenticate(token(key.auth)))?.accountId).toBe(key.accountId);
    await revokeBehindTheCache(key.id);
    await api.app.get(InvalidationBus).publish({ kind: 'all' });
    expect(await keys.authenticate(token(key.auth))).toBeNull();
  });

  it('lets an entry live API_KEY_CACHE_TTL_MS at most (the safety net when a message is lost), and 0 turns the cache off', async () => {
    const short = await startTestApi({ API_KEY_CACHE_TTL_MS: '3000' });
    const off = await startTestApi({ API_KEY_CACHE_TTL_MS: '0' });
    try {
      const [a, b] = [await mintKey(api, 'member'), await mintKey(api, 'member')];
      expect((await short.app.get(ApiKeyService).authenticate(token(a.auth)))?.accountId).toBe(a.accountId);
      expect((await off.app.get(ApiKeyService).authenticate(token(b.auth)))?.accountId).toBe(b.accountId);
      await revokeBehindTheCache(a.id);
      await revokeBehindTheCache(b.id);
      expect((await short.app.get(ApiKeyService).authenticate(token(a.auth)))?.accountId).toBe(a.accountId);
      expect(await off.app.get(ApiKeyService).authenticate(token(b.auth))).toBeNull();
      await waitUntil('the cached key to expire', async () => (await short.app.get(ApiKeyService).authenticate(token(a.auth))) === null, {
        timeoutMs: 10_000,
      });
    } finally {
      await short.close();
      await off.close();
    }
  });
});

describe("requests Node's HTTP parser refuses", () => {
  let api: TestApi;
  let port: number;
  beforeAll(async () => {
    api = await startTestApi();
    const server = api.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => api.close());

  /** Sends raw bytes and reads until the server closes the connection. */
  function raw(text: string): Promise<{ statusLine: string; headers: Record<string, string>; body: unknown }> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(text));
      let data = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head, body] = data.split('\r\n\r\n');
        const [statusLine, ...lines] = head.split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        resolve({ statusLine, headers, body: JSON.parse(body) });
      });
    });
  }

  it('answers oversized headers with 431 and a problem whose status says 431 (RFC 6585, RFC 9457)', async () => {
    const res = await raw(`GET /abcdefg HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(res).toEqual({
      statusLine: 'HTTP/1.1 431 Request Header Fields Too Large',
      headers: {
        'content-type': 'application/problem+json; charset=utf-8',
        'content-length': String(Buffer.byteLength(JSON.stringify(res.body))),
        connection: 'close',
      },
      body: {
        type: 'urn:shortener:problem:request-header-too-large',
        title: 'The request headers are too large',
        status: 431,
        detail: 'The request line and headers exceed the server limit',
      },
    });
  });

  it('answers a path segment over the router limit with 414 uri-too-long, without echoing the path (RFC 9110 15.5.15)', async () => {
    const res = await raw(`GET /${'a'.repeat(4_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect([res.statusLine, res.headers['content-type'], res.body]).toEqual([
      'HTTP/1.1 414 URI Too Long',
      'application/problem+json; charset=utf-8',
      {
        type: 'urn:shortener:problem:uri-too-long',
        title: 'The request URI is too long',
        status: 414,
        detail: 'A path segment is longer than the server accepts',
      },
    ]);
  });

  it('answers a malformed request with 400 validation-failed', async () => {
    const res = await raw('GET /abcdefg HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
    expect([res.statusLine, res.body]).toEqual([
      'HTTP/1.1 400 Bad Request',
      { type: 'urn:shortener:problem:validation-failed', title: 'The request is invalid', status: 400, detail: 'The HTTP request is malformed' },
    ]);
  });
});
