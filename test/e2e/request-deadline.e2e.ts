import { Client } from 'pg';
import { TestApi, startTestApi, uniqueAlias } from '../support/api-app';
import { createLinkCode } from '../support/click-pipeline';
import { testEnv } from '../support/test-env';

jest.setTimeout(60_000);

const DEADLINE_MS = 1_000;
// A deadline is asserted with its bound and a 5x margin.
const WITHIN_MS = DEADLINE_MS * 5;

/**
 * HTTP_REQUEST_DEADLINE_MS end to end: a change whose row is locked by
 * another transaction (statement_timeout far away) and a request waiting
 * for the pool behind it both answer 503 `deadline-exceeded` at the
 * deadline, nothing they started is committed, and the pool is whole again.
 */
describe('the request deadline (HTTP_REQUEST_DEADLINE_MS)', () => {
  let api: TestApi;
  let locker: Client;
  beforeAll(async () => {
    api = await startTestApi({
      HTTP_REQUEST_DEADLINE_MS: String(DEADLINE_MS),
      DATABASE_STATEMENT_TIMEOUT_MS: '30000',
      DATABASE_CONNECT_TIMEOUT_MS: '30000',
      DATABASE_POOL_SIZE: '1',
    });
    locker = new Client({ connectionString: testEnv().DATABASE_URL });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await api.close();
  });

  const timed = async (send: () => Promise<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }>) => {
    const started = performance.now();
    const response = await send();
    return { response, tookMs: performance.now() - started };
  };

  it('answers 503 deadline-exceeded with Retry-After at the deadline, cancels the locked statement and the pool wait behind it, and commits nothing', async () => {
    const locked = await createLinkCode(api, { url: 'https://example.com/deadline/locked', alias: uniqueAlias('deadline') });
    const other = await createLinkCode(api, { url: 'https://example.com/deadline/other', alias: uniqueAlias('deadline') });
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM links WHERE code = $1 FOR UPDATE', [locked]);
    const patch = (code: string) => () => api.http().patch(`/api/v1/links/${code}`).set('Authorization', api.adminAuth).send({ title: 'changed' });
    // The first holds the only pooled connection, waiting for the row lock; the second waits for the pool.
    const [first, second] = await Promise.all([timed(patch(locked)), timed(patch(other))]);
    const waiting = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'shortener-api' AND wait_event_type = 'Lock'`);
    await locker.query('ROLLBACK');

    for (const { response, tookMs } of [first, second]) {
      expect(response.status).toBe(503);
      expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(response.headers['retry-after']).toBe('1');
      expect(response.body).toMatchObject({ type: 'urn:shortener:problem:deadline-exceeded', status: 503, deadlineMs: DEADLINE_MS });
      expect(response.body.detail).toContain(`${DEADLINE_MS} ms (HTTP_REQUEST_DEADLINE_MS)`);
      expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
      expect(tookMs).toBeLessThan(WITHIN_MS);
    }
    // The statement waiting for the lock was cancelled, not left to run.
    expect(waiting.rows).toEqual([{ n: 0 }]);
    for (const code of [locked, other]) {
      const read = await api.http().get(`/api/v1/links/${code}`).set('Authorization', api.adminAuth);
      expect([read.status, read.body.title]).toEqual([200, null]);
    }
    const audit = await locker.query(`SELECT count(*)::int AS n FROM link_audit WHERE code = ANY($1) AND action = 'update'`, [[locked, other]]);
    expect(audit.rows).toEqual([{ n: 0 }]);
    // The one connection went back to the pool: the same change now succeeds at once.
    const again = await api.http().patch(`/api/v1/links/${locked}`).set('Authorization', api.adminAuth).send({ title: 'changed' });
    expect([again.status, again.body.title]).toEqual([200, 'changed']);
  });

  it('cancels a create (batched, no Idempotency-Key) that waits for a lock at its deadline: 503, and no link once the lock is gone', async () => {
    const alias = uniqueAlias('deadline-create');
    // SHARE mode: reads go on (this Jest worker's own database), inserts wait.
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE links IN SHARE MODE');
    let waiting: { rows: unknown[] };
    let timedCreate: Awaited<ReturnType<typeof timed>>;
    try {
      timedCreate = await timed(() =>
        api.http().post('/api/v1/links').set('Authorization', api.adminAuth).send({ url: 'https://example.com/deadline/create', alias }),
      );
      waiting = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'shortener-api' AND wait_event_type = 'Lock'`);
    } finally {
      await locker.query('ROLLBACK');
    }
    const { response, tookMs } = timedCreate;
    expect([response.status, response.headers['retry-after'], response.body.type]).toEqual([503, '1', 'urn:shortener:problem:deadline-exceeded']);
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    expect(tookMs).toBeLessThan(WITHIN_MS);
    expect(waiting.rows).toEqual([{ n: 0 }]);
    // Had the insert gone on waiting, it would commit as soon as the lock went.
    await new Promise((r) => setTimeout(r, 300));
    expect((await api.http().get(`/api/v1/links/${alias}`).set('Authorization', api.adminAuth)).status).toBe(404);
  });
});
