import { DeadlineExceededError, withDeadline } from '@shortener/common';
import { DeadlinePool } from '@shortener/database';
import { Client, DatabaseError, PoolClient } from 'pg';
import { testEnv } from '../support/test-env';

jest.setTimeout(30_000);

const BUDGET_MS = 300;
// A deadline must be kept with its bound and a 5x margin.
const WITHIN_MS = BUDGET_MS * 5;

/**
 * The pool's checkouts share the deadline of the request they are made for,
 * on a real PostgreSQL: a statement running at the deadline is cancelled, a
 * pool wait is abandoned, a transaction cannot commit after it, and nothing
 * changes outside a deadline.
 */
describe(DeadlinePool.name, () => {
  const url = testEnv().DATABASE_URL;
  let pool: DeadlinePool;
  let observer: Client;
  const table = `deadline_probe_${process.pid}`;
  beforeAll(async () => {
    pool = new DeadlinePool({ connectionString: url, max: 1, application_name: 'deadline-pool-test' });
    observer = new Client({ connectionString: url });
    await observer.connect();
    await observer.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await observer.query(`DROP TABLE IF EXISTS ${table}`);
    await observer.end();
    await pool.end();
  });

  const sleeping = async () =>
    Number(
      (
        await observer.query(
          `SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'deadline-pool-test' AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`,
        )
      ).rows[0].n,
    );

  it('cancels the statement running when the deadline passes (SQLSTATE 57014) and leaves the connection usable', async () => {
    const started = performance.now();
    const error = await withDeadline(BUDGET_MS, () => pool.query('SELECT pg_sleep(30)')).catch((e: unknown) => e);
    const tookMs = performance.now() - started;
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('57014');
    expect(tookMs).toBeGreaterThanOrEqual(BUDGET_MS - 5);
    expect(tookMs).toBeLessThan(WITHIN_MS);
    expect(await sleeping()).toBe(0);
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([1, 1, 0]);
  });

  it('abandons a wait for a connection at the deadline and hands the connection back once it comes', async () => {
    const held = await pool.connect();
    const started = performance.now();
    const error = await withDeadline(BUDGET_MS, () => pool.connect()).catch((e: unknown) => e);
    const tookMs = performance.now() - started;
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect((error as DeadlineExceededError).budgetMs).toBe(BUDGET_MS);
    expect(tookMs).toBeGreaterThanOrEqual(BUDGET_MS - 5);
    expect(tookMs).toBeLessThan(WITHIN_MS);
    held.release();
    // The abandoned waiter takes the connection and gives it straight back.
    await new Promise((r) => setTimeout(r, 50));
    expect([pool.totalCount, pool.idleCount, pool.waitingCount]).toEqual([1, 1, 0]);
    expect((await pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });

  it('refuses COMMIT once the deadline has passed, lets ROLLBACK through, and nothing is written', async () => {
    const outcome = await withDeadline(BUDGET_MS, async (deadline) => {
      const client: PoolClient = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${table} (id) VALUES (1)`);
        await new Promise((r) => {
          deadline.signal.addEventListener('abort', r, { once: true });
        });
        const commit = await client.query('COMMIT').then(
          () => 'committed',
          (e: unknown) => e,
        );
        await client.query('ROLLBACK');
        return commit;
      } finally {
        client.release();
      }
    });
    expect(outcome).toBeInstanceOf(DeadlineExceededError);
    expect((await observer.query(`SELECT count(*)::int AS n FROM ${table}`)).rows).toEqual([{ n: 0 }]);
  });

  it('survives the server ending a checked-out connection (57P01): the statement fails, the process does not, the pool replaces it', async () => {
    const client = await pool.connect();
    const pid = (client as unknown as { processID: number }).processID;
    await observer.query('SELECT pg_terminate_backend($1)', [pid]);
    const error = await client.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    client.release(error as Error);
    const { rows } = await pool.query('SELECT pg_backend_pid() AS pid');
    expect(rows[0].pid).not.toBe(pid);
    expect([pool.totalCount, pool.idleCount]).toEqual([1, 1]);
  });

  it('behaves as a plain pool outside a deadline: a statement runs as long as it takes', async () => {
    const { rows } = await pool.query('SELECT pg_sleep(0.5), 3 AS three');
    expect(rows).toEqual([{ pg_sleep: '', three: 3 }]);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${table} (id) VALUES (2)`);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await observer.query(`SELECT id FROM ${table}`)).rows).toEqual([{ id: 2 }]);
  });
});
