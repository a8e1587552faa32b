import { CACHE_REDIS } from '@shortener/redis';
import Redis from 'ioredis';
import type { Response } from 'supertest';
import { DataSource } from 'typeorm';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createdCode } from '../support/links';
import { expectProblem } from '../support/problem';
import { startOwnedRedis } from '../support/engines';
import { counterValue, isolatedRedis, parseRateLimit } from '../support/security';
import { waitUntil } from '../support/wait';

/**
 * Rate limits (docs/design.md section 9, docs/cases.md C24): per client address and
 * per API key on the API, per address on failed authentication, per address
 * on redirects; 429 problem+json with Retry-After and the RateLimit-Policy /
 * RateLimit fields. The client address is the socket peer, or the right-most
 * untrusted X-Forwarded-For hop when the peer is a trusted proxy; X-Real-IP
 * and Forwarded never change it. Every app gets its own Redis prefix, so
 * counters start at zero.
 */

// Tests send from 127.0.0.1; as a dual-stack socket reports it, ::ffff:127.0.0.1 (proxy-addr matches both).
const LOOPBACK_PROXY = '127.0.0.1,::1';

/** Retry-After in whole seconds, checked against the RateLimit reset of the violated policy. */
function expectRetryAfter(res: Response, policy: string): void {
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  expect(parseRateLimit(res.headers.ratelimit)[policy].t).toBe(retryAfter);
  expect(res.body.retryAfterSeconds).toBe(retryAfter);
}

describe('C24: per client address on the API', () => {
  const N = 5;
  const spoofs: [string, (i: number) => Record<string, string>][] = [
    ['X-Forwarded-For', (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` })],
    ['X-Real-IP', (i) => ({ 'x-real-ip': `198.51.100.${i + 1}` })],
    ['Forwarded: for=', (i) => ({ forwarded: `for=198.51.100.${i + 1};proto=https, for="[2001:db8:${i + 1}::1]"` })],
  ];

  it.each(spoofs)('N+5 creates, each with a different %s, from one untrusted peer: requests past N get 429 with Retry-After', async (_name, spoof) => {
    const api = await startTestApi(isolatedRedis({ RATE_LIMIT_CLIENT_PER_MINUTE: String(N), RATE_LIMIT_API_PER_MINUTE: '1000' }));
    try {
      const tag = uniqueAlias('c24');
      const responses: Response[] = [];
      for (let i = 0; i < N + 5; i += 1) {
        responses.push(
          await api
            .http()
            .post('/api/v1/links')
            .set('authorization', api.adminAuth)
            .set(spoof(i))
            .send({ url: `https://example.com/c24/${i}`, tags: [tag] }),
        );
      }
      expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 429, 429, 429, 429, 429]);
      responses.forEach((res, i) => {
        expect(res.headers['ratelimit-policy']).toBe('"api-key";q=1000;w=60, "client";q=5;w=60');
        const limits = parseRateLimit(res.headers.ratelimit);
        expect({ key: limits['api-key'].r, client: limits.client.r }).toEqual({ key: 1000 - (i + 1), client: Math.max(0, N - (i + 1)) });
      });
      for (const res of responses.slice(N)) {
        expectProblem(res, 429, 'rate-limited');
        expect(res.body['violated-policies']).toEqual(['client']);
        expectRetryAfter(res, 'client');
      }
      // Read from the database: the API itself now refuses this client too.
      const stored: { target: string }[] = await api.app.get(DataSource).query('SELECT target FROM links WHERE $1 = ANY(tags) ORDER BY target', [tag]);
      expect(stored.map((l) => l.target)).toEqual([0, 1, 2, 3, 4].map((i) => `https://example.com/c24/${i}`));
      expect(await counterValue(api, 'rateLimited', { limiter: 'client' })).toBe(5);
      expect(await counterValue(api, 'rateLimited', { limiter: 'api_key' })).toBe(0);
    } finally {
      await api.close();
    }
  });

  it('through a trusted proxy, the right-most untrusted X-Forwarded-For hop is the client: each gets its own budget', async () => {
    const api = await startTestApi(isolatedRedis({ RATE_LIMIT_CLIENT_PER_MINUTE: '2', RATE_LIMIT_API_PER_MINUTE: '1000', TRUSTED_PROXIES: LOOPBACK_PROXY }));
    try {
      const create = async (headers: Record<string, string>) =>
        (await api.http().post('/api/v1/links').set('authorization', api.adminAuth).set(headers).send({ url: 'https://example.com/proxied' })).status;
      const statuses: [string, number][] = [];
      const step = async (label: string, headers: Record<string, string>) => statuses.push([label, await create(headers)]);
      await step('A 1', { 'x-forwarded-for': '203.0.113.7' });
      await step('A 2', { 'x-forwarded-for': '203.0.113.7' });
      await step('A 3', { 'x-forwarded-for': '203.0.113.7' });
      await step('B 1', { 'x-forwarded-for': '203.0.113.8' });
      // A client cannot choose its address by prepending hops: the right-most untrusted one counts.
      await step('A spoofing B on the left', { 'x-forwarded-for': '203.0.113.8, 203.0.113.7' });
      await step('C behind A', { 'x-forwarded-for': '203.0.113.7, 203.0.113.9' });
      // Through the proxy too, only X-Forwarded-For is honoured.
      await step('A with X-Real-IP', { 'x-forwarded-for': '203.0.113.7', 'x-real-ip': '203.0.113.50' });
      await step('A with Forwarded', { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.51' });
      await step('the proxy itself', {});
      await step('IPv6 D 1', { 'x-forwarded-for': '2001:db8:1:2::1' });
      await step('IPv6 D 2, same /64', { 'x-forwarded-for': '2001:db8:1:2::ffff' });
      await step('IPv6 D 3, same /64', { 'x-forwarded-for': '2001:db8:1:2:abcd::9' });
      await step('IPv6 E, next /64', { 'x-forwarded-for': '2001:db8:1:3::1' });
      expect(statuses).toEqual([
        ['A 1', 201],
        ['A 2', 201],
        ['A 3', 429],
        ['B 1', 201],
        ['A spoofing B on the left', 429],
        ['C behind A', 201],
        ['A with X-Real-IP', 429],
        ['A with Forwarded', 429],
        ['the proxy itself', 201],
        ['IPv6 D 1', 201],
        ['IPv6 D 2, same /64', 201],
        ['IPv6 D 3, same /64', 429],
        ['IPv6 E, next /64', 201],
      ]);
      expect(await counterValue(api, 'rateLimited', { limiter: 'client' })).toBe(5);
    } finally {
      await api.close();
    }
  });
});

describe('per API key', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(isolatedRedis({ RATE_LIMIT_CLIENT_PER_MINUTE: '1000', RATE_LIMIT_API_PER_MINUTE: '50' }));
  });
  afterAll(() => api.close());

  it("a key's own rateLimitPerMinute applies to it alone; other keys keep the default", async () => {
    const minted = await api
      .http()
      .post('/api/v1/api-keys')
      .set('authorization', api.adminAuth)
      .send({ name: 'limited', role: 'member', rateLimitPerMinute: 3 });
    expect(minted.status).toBe(201);
    const limited = `Bearer ${minted.body.key}`;
    const responses: Response[] = [];
    for (let i = 0; i < 5; i += 1) responses.push(await api.http().get('/api/v1/links').set('authorization', limited));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
    expect(responses.map((r) => r.headers['ratelimit-policy'])).toEqual(Array(5).fill('"api-key";q=3;w=60, "client";q=1000;w=60'));
    expect(responses.map((r) => parseRateLimit(r.headers.ratelimit)['api-key'].r)).toEqual([2, 1, 0, 0, 0]);
    expectProblem(responses[3], 429, 'rate-limited');
    expect(responses[3].body['violated-policies']).toEqual(['api-key']);
    expectRetryAfter(responses[3], 'api-key');

    const other = await api.http().get('/api/v1/links').set('authorization', api.adminAuth);
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-policy']).toBe('"api-key";q=50;w=60, "client";q=1000;w=60');
    expect(await counterValue(api, 'rateLimited', { limiter: 'api_key' })).toBe(2);
  });
});

describe('per client address on failed authentication', () => {
  const env = isolatedRedis({ RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3', TRUSTED_PROXIES: LOOPBACK_PROXY });
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(env);
  });
  afterAll(() => api.close());

  it('after 3 failures an address is refused with 429 before its key is checked, even a valid one; other addresses are not', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.66' };
    const attempts = [
      await api.http().get('/api/v1/links').set(attacker).set('authorization', 'Bearer sk_guessguess_0123456789abcdefghijklmnopqrstuvwx'),
      await api.http().get('/api/v1/links').set(attacker),
      await api.http().get('/api/v1/links').set(attacker).set('authorization', 'Basic Zm9vOmJhcg=='),
      await api.http().get('/api/v1/links').set(attacker).set('authorization', api.adminAuth),
      await api.http().get('/api/v1/links').set(attacker).set('authorization', 'Bearer sk_guessguess_0123456789abcdefghijklmnopqrstuvwx'),
    ];
    expect(attempts.map((r) => r.status)).toEqual([401, 401, 401, 429, 429]);
    expect(attempts.map((r) => r.headers['ratelimit-policy'])).toEqual(Array(5).fill('"auth-failures";q=3;w=60'));
    expect(attempts.map((r) => parseRateLimit(r.headers.ratelimit)['auth-failures'].r)).toEqual([2, 1, 0, 0, 0]);
    expectProblem(attempts[0], 401, 'unauthenticated');
    expectProblem(attempts[3], 429, 'rate-limited');
    expect(attempts[3].body['violated-policies']).toEqual(['auth-failures']);
    expectRetryAfter(attempts[3], 'auth-failures');

    const bystander = await api.http().get('/api/v1/links').set({ 'x-forwarded-for': '203.0.113.67' }).set('authorization', api.adminAuth);
    expect(bystander.status).toBe(200);
    expect(await counterValue(api, 'rateLimited', { limiter: 'auth_failure' })).toBe(2);
  });

  it('an address over its limit is refused from memory until its window ends, without a Redis round trip: deleting its counter changes nothing', async () => {
    const attacker = { 'x-forwarded-for': '203.0.113.68' };
    const wrongKey = () => api.http().get('/api/v1/links').set(attacker).set('authorization', 'Bearer sk_guessguess_0123456789abcdefghijklmnopqrstuvwx');
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push((await wrongKey()).status);
    expect(statuses).toEqual([401, 401, 401, 429]);

    const redis = api.app.get<Redis>(CACHE_REDIS);
    const pattern = `${env.REDIS_KEY_PREFIX}rl:auth-failure*203.0.113.68*`;
    const counters = await redis.keys(pattern);
    expect(counters).toHaveLength(1);
    expect(await redis.del(...counters)).toBe(1);

    const refused = await wrongKey();
    expectProblem(refused, 429, 'rate-limited');
    expectRetryAfter(refused, 'auth-failures');
    expect((await api.http().get('/api/v1/links').set(attacker).set('authorization', api.adminAuth)).status).toBe(429);
    // Neither refusal looked up or counted anything in Redis.
    expect(await redis.keys(pattern)).toEqual([]);
  });
});

describe('per client address on redirects (in-process)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi(isolatedRedis({ RATE_LIMIT_REDIRECT_PER_SECOND: '3', TRUSTED_PROXIES: LOOPBACK_PROXY }));
  });
  afterAll(() => api.close());

  it('past the per-second limit a client gets 429 problem+json with Retry-After, without Location; another client is served', async () => {
    const code = await createdCode(api, { url: 'https://example.com/hot', alias: uniqueAlias('hot') });
    const visit = (client: string) => api.http().get(`/${code}`).set('x-forwarded-for', client);
    // In parallel: all six land within one 1 s window.
    const burst = await Promise.all(Array.from({ length: 6 }, () => visit('198.51.100.200')));
    const other = await visit('198.51.100.201');
    expect(burst.map((r) => r.status).sort()).toEqual([302, 302, 302, 429, 429, 429]);
    expect(other.status).toBe(302);
    for (const res of burst.filter((r) => r.status === 429)) {
      expectProblem(res, 429, 'rate-limited');
      expect({
        retryAfter: res.headers['retry-after'],
        policy: res.headers['ratelimit-policy'],
        limit: res.headers.ratelimit,
        location: res.headers.location,
        cacheControl: res.headers['cache-control'],
        violated: res.body['violated-policies'],
      }).toEqual({
        retryAfter: '1',
        policy: '"redirect";q=3;w=1',
        limit: '"redirect";r=0;t=1',
        location: undefined,
        cacheControl: 'private, no-store',
        violated: ['redirect'],
      });
    }
    // Served redirects carry no rate-limit fields (draft section 6: they could delay following the redirect).
    expect(burst.filter((r) => r.status === 302).map((r) => [r.headers.location, r.headers.ratelimit])).toEqual(
      Array(3).fill(['https://example.com/hot', undefined]),
    );
    expect(await counterValue(api, 'rateLimited', { limiter: 'redirect' })).toBe(3);
    expect(await counterValue(api, 'redirects', { outcome: 'rate_limited', cache: 'none' })).toBe(3);
  });
});

describe('when the cache Redis is unreachable', () => {
  it('the API limits each process in memory instead (insurance limiter)', async () => {
    const redis = await startOwnedRedis();
    const api = await startTestApi(isolatedRedis({ REDIS_CACHE_URL: redis.url, RATE_LIMIT_CLIENT_PER_MINUTE: '3', RATE_LIMIT_API_PER_MINUTE: '1000' }));
    try {
      const get = () => api.http().get('/api/v1/links').set('authorization', api.adminAuth);
      expect((await get()).status).toBe(200);
      expect(parseRateLimit((await get()).headers.ratelimit).client.r).toBe(1);
      await redis.stop('SIGKILL');
      const client = api.app.get<Redis>(CACHE_REDIS);
      await waitUntil('the cache client to notice Redis is gone', () => client.status !== 'ready', { timeoutMs: 10_000 });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await get()).status);
      // The in-memory budget starts afresh: three more, then refused.
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect(await counterValue(api, 'rateLimited', { limiter: 'client' })).toBe(2);
    } finally {
      await api.close();
      await redis.stop();
    }
  });
});
