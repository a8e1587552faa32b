import Redis from 'ioredis';
import { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode } from '../support/click-pipeline';
import { waitUntil } from '../support/pipeline-wait';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

/**
 * The redirect's two bulkheads against a stalled PostgreSQL (a table lock):
 * links Redis holds keep being redirected, and lookups that need PostgreSQL
 * queue up to REDIRECT_DB_MAX_QUEUED and are refused with 503 beyond it,
 * never with a 500 and never by waiting.
 */
describe('redirects while PostgreSQL is stalled by a lock on links', () => {
  const MAX_QUEUED = 5;
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({
      // No in-process cache: every redirect below is a Redis or PostgreSQL lookup.
      CACHE_LRU_MAX_ENTRIES: '0',
      REDIRECT_DB_MAX_QUEUED: String(MAX_QUEUED),
      DATABASE_POOL_SIZE: '2',
      DATABASE_STATEMENT_TIMEOUT_MS: '30000',
    });
  });
  afterAll(() => api.close());

  it('answers Redis-cached links at once and refuses database lookups beyond the queue with 503 and Retry-After, never 500', async () => {
    const cached: string[] = [];
    for (let i = 0; i < 10; i += 1) cached.push(await createLinkCode(api, { url: `https://example.com/bulkhead/${i}`, alias: uniqueAlias('bulkhead') }));
    // A redirect that reads PostgreSQL fills Redis, once the invalidation marker its create left has expired.
    const redis = new Redis(api.config.redis.cacheUrl);
    const host = api.config.domains.default.host;
    const keys = cached.map((code) => `${api.config.redis.keyPrefix}link:{${host}/${code}}`);
    try {
      await waitUntil('Redis to hold the links', async () => {
        for (const code of cached) expect((await api.http().get(`/${code}`)).status).toBe(302);
        const held = await redis.exists(...keys);
        return { done: held === keys.length, state: held };
      }, { timeoutMs: 20_000, stallTimeoutMs: 20_000, intervalMs: 250 });
    } finally {
      redis.disconnect();
    }

    const lock = new Client({ connectionString: testEnv().DATABASE_URL });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE links IN ACCESS EXCLUSIVE MODE');
    const lookup = (label: string) =>
      api
        .http()
        .get(`/never-cached-${label}-${uniqueAlias('x')}`)
        .then((r) => ({ status: r.status, retryAfter: r.headers['retry-after'] as string | undefined, type: r.body?.type as string | undefined, at: performance.now() }));
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const timings: number[] = [];
    const statuses: number[] = [];
    let admitted: ReturnType<typeof lookup>[] = [];
    let refused: Awaited<ReturnType<typeof lookup>>[] = [];
    let released = 0;
    try {
      // Codes no cache holds need PostgreSQL, which waits for the lock: one batch on each of the pool's two
      // connections, then MAX_QUEUED waiting for the next batch; each wave is sent once the one before has settled.
      admitted.push(lookup('a'));
      await pause(200);
      admitted.push(lookup('b'));
      await pause(200);
      admitted = admitted.concat(Array.from({ length: MAX_QUEUED }, (_, i) => lookup(`q${i}`)));
      await pause(200);
      // One more each: refused at once, while the lock is still held.
      refused = await Promise.all(Array.from({ length: 10 }, (_, i) => lookup(`r${i}`)));
      for (const code of cached) {
        const started = performance.now();
        statuses.push((await api.http().get(`/${code}`)).status);
        timings.push(performance.now() - started);
      }
    } finally {
      released = performance.now();
      await lock.query('COMMIT');
      await lock.end();
    }
    expect(refused.map((a) => [a.status, a.retryAfter, a.type])).toEqual(refused.map(() => [503, '1', 'urn:shortener:problem:overloaded']));
    expect(refused.every((a) => a.at < released)).toBe(true);
    expect(statuses).toEqual(cached.map(() => 302));
    // A Redis hit takes about a millisecond; the bound is 50 ms with a 5x margin.
    expect(Math.max(...timings)).toBeLessThan(50 * 5);
    // The admitted lookups waited for the lock and are answered once it is gone: unknown codes, 404.
    const answers = await Promise.all(admitted);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 404));
    expect(answers.every((a) => a.at >= released)).toBe(true);
  });
});
