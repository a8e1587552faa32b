import { Queue } from 'bullmq';
import { ChildProcess } from 'node:child_process';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CompiledApp, startCompiledApp } from '../support/compiled-app';
import { committedClicks, createDrillLink, metricSum, scrape, startRedirectLoad } from '../support/drill';
import { MigratedPostgres, OwnedRedis, startMigratedPostgres, startOwnedRedis } from '../support/engines';
import { waitForQueueIdle } from '../support/pipeline-wait';
import { waitUntil } from '../support/wait';
import { TEST_ADMIN_KEY, testEnv } from '../support/test-env';

jest.setTimeout(150_000);

const FILLER = 'drill-filler';
const TOO_MANY_CONNECTIONS = '53300';

/** Opens idle connections to `url` until PostgreSQL refuses one with too_many_connections; returns them. */
async function fillSlots(url: string): Promise<Client[]> {
  const held: Client[] = [];
  for (;;) {
    const client = new Client({ connectionString: url, application_name: FILLER });
    // A filler that the server ends must not end the test process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (e) {
      if ((e as { code?: string }).code === TOO_MANY_CONNECTIONS) return held;
      throw e;
    }
    held.push(client);
    if (held.length > 50) throw new Error('PostgreSQL took more than 50 connections: is max_connections set?');
  }
}

/**
 * Takes every connection slot: fills the free ones, then ends the apps' own
 * connections and takes their slots too, until no connection but the
 * fillers is left.
 */
async function exhaustSlots(url: string): Promise<Client[]> {
  const held = await fillSlots(url);
  for (let round = 0; round < 20; round += 1) {
    const { rows } = await held[0].query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND application_name <> $1`,
      [FILLER],
    );
    if (rows.length === 0) return held;
    held.push(...(await fillSlots(url)));
  }
  throw new Error('the apps kept taking slots back');
}

async function release(held: Client[]): Promise<void> {
  await Promise.all(held.splice(0).map((c) => c.end().catch(() => undefined)));
}

/**
 * Drill: every PostgreSQL connection slot is taken (a leak elsewhere, a
 * flood of clients). The running API and worker answer errors where they
 * need PostgreSQL, keep redirecting cached links, and do not crash; once the
 * slots are free they work again without a restart, and the clicks served
 * meanwhile are committed. A process started while the slots are taken
 * keeps running and becomes ready once a slot frees.
 */
describe('drill: PostgreSQL connections exhausted', () => {
  const MAX_CONNECTIONS = 12;
  const REDIRECTS = 500;
  let pg: MigratedPostgres;
  let redis: OwnedRedis;
  let env: Record<string, string>;
  let api: CompiledApp;
  let worker: CompiledApp;
  let late: CompiledApp | undefined;
  let lateChild: ChildProcess | undefined;
  let db: Client | undefined;
  let queueConnection: Redis;
  let queue: Queue;
  const fillers: Client[] = [];
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startMigratedPostgres({ maxConnections: MAX_CONNECTIONS }), startOwnedRedis()]);
    env = {
      DATABASE_URL: pg.url,
      REDIS_CACHE_URL: redis.url,
      REDIS_QUEUE_URL: redis.url,
      DATABASE_POOL_SIZE: '2',
      // Reconnection attempts at most a second apart, so recovery is quick to see.
      DATABASE_CONNECT_BACKOFF_MAX_MS: '1000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    };
    [api, worker] = await Promise.all([startCompiledApp('api', env), startCompiledApp('worker', env)]);
    queueConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('clicks', { connection: queueConnection, prefix: testEnv().QUEUE_PREFIX });
  }, 120_000);
  afterAll(async () => {
    await release(fillers);
    await queue?.close();
    queueConnection?.disconnect();
    await db?.end();
    // One that never became ready has no CompiledApp to stop.
    if (!late && lateChild?.exitCode === null) lateChild.kill('SIGKILL');
    await Promise.all([late?.stop(), worker?.stop(), api?.stop()]);
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  const create = (app: CompiledApp, target: string) =>
    fetch(`${app.url}/api/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: target }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code?: string; type?: string } }));
  /** The readiness probe's status, its PostgreSQL check, and the process's shortener_dependency_up for PostgreSQL. */
  const readiness = async (app: CompiledApp) => {
    const res = await fetch(`${app.managementUrl}/health/ready`);
    const body = (await res.json()) as { details?: { postgres?: { status?: string } } };
    return {
      status: res.status,
      postgres: body.details?.postgres?.status,
      up: metricSum(await scrape(app.managementUrl), 'shortener_dependency_up', { dependency: 'postgres' }),
    };
  };
  const status = (url: string) => fetch(url, { redirect: 'manual' }).then(async (r) => (await r.arrayBuffer(), r.status));

  it('the running API and worker answer errors without crashing, and recover once slots free', async () => {
    db = new Client({ connectionString: pg.url });
    await db.connect();
    const link = await createDrillLink(api.url, 'https://example.com/drill/connections', db);
    expect(await status(`${api.url}/${link.code}`)).toBe(302);
    // Their connections are ended while both processes are idle: a connection ended in the middle of a
    // transaction is another fault than a server with no slot left.
    const probe = db;
    await waitUntil(
      'the first click to be committed',
      async () => {
        const committed = await committedClicks(probe, link.id);
        return { done: committed === 1, state: committed };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    await db.end();
    db = undefined;

    fillers.push(...(await exhaustSlots(pg.url)));
    const tally = await startRedirectLoad(api.url, [`/${link.code}`], { total: REDIRECTS, concurrency: 4 }).done;
    const during = {
      redirects: tally.statuses,
      create: (await create(api, 'https://example.com/drill/connections/during')).status,
      uncached: await status(`${api.url}/never-cached`),
      api: await readiness(api),
      worker: await readiness(worker),
    };
    // Long enough for the worker to meet the missing database with the clicks' batches.
    await new Promise((r) => setTimeout(r, 3_000));
    const alive = { api: api.child.exitCode, worker: worker.child.exitCode };
    console.log(`while exhausted (${fillers.length} slots held): ${JSON.stringify({ ...during, alive })}`);
    // Once reached, PostgreSQL does not fail readiness (cached redirects go on); it is reported down.
    expect(during).toEqual({
      redirects: { 302: REDIRECTS },
      create: 503,
      // The lookup PostgreSQL could not take: 503 dependency-unavailable with Retry-After, never a 500.
      uncached: 503,
      api: { status: 200, postgres: 'down', up: 0 },
      worker: { status: 200, postgres: 'down', up: 0 },
    });
    expect(alive).toEqual({ api: null, worker: null });

    await release(fillers);
    const freedAt = performance.now();
    await waitUntil(
      'the API to create links again',
      async () => {
        const res = await create(api, 'https://example.com/drill/connections/after');
        return { done: res.status === 201, state: res.status };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 30_000, intervalMs: 100 },
    );
    const recoveredMs = performance.now() - freedAt;
    await waitUntil(
      'both to report PostgreSQL up',
      async () => {
        const state = [await readiness(api), await readiness(worker)];
        return { done: state.every((r) => r.status === 200 && r.postgres === 'up' && r.up === 1), state };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 30_000, intervalMs: 100 },
    );

    // Batches that failed meanwhile are retried with backoff (1 s, 2 s, 4 s, ...): none fails for good.
    await waitForQueueIdle(queue, { timeoutMs: 60_000, stallTimeoutMs: 30_000 });
    db = new Client({ connectionString: pg.url });
    await db.connect();
    const served = 1 + REDIRECTS;
    const committed = await committedClicks(db, link.id);
    const dropped = metricSum(await scrape(api.managementUrl), 'shortener_clicks_dropped_total');
    console.log(
      `drill connections exhausted: served ${served}, committed ${committed}, dropped ${dropped}, lost ${served - committed - dropped}; creates again ${Math.round(recoveredMs)} ms after the slots freed`,
    );
    expect({ committed, dropped }).toEqual({ committed: served, dropped: 0 });
    // Reconnections at most a second apart (DATABASE_CONNECT_BACKOFF_MAX_MS), with a 5x margin.
    expect(recoveredMs).toBeLessThan(1_000 * 5);
  });

  // With a pool of 2 and one slot: the startup work runs one task at a time and a readiness probe runs one
  // statement, so neither needs a second connection.
  it('a process started while every slot is taken keeps running and becomes ready once a slot frees', async () => {
    await db?.end();
    db = undefined;
    // The running processes give their slots back, so the one slot freed below can only go to the new process.
    await Promise.all([worker.stop(), api.stop()]);
    fillers.push(...(await exhaustSlots(pg.url)));
    let settled: 'ready' | Error | undefined;
    const starting = startCompiledApp('api', env, { spawned: (child) => (lateChild = child) }).then(
      (app) => {
        late = app;
        settled = 'ready';
      },
      (e: Error) => (settled = e),
    );
    // Long past its boot (a few seconds): it keeps running, unready, while the slots stay taken.
    await new Promise((r) => setTimeout(r, 10_000));
    expect(settled).toBeUndefined();

    await fillers.pop()?.end();
    const freedAt = performance.now();
    // A connection attempt at most a second after the slot frees (DATABASE_CONNECT_BACKOFF_MAX_MS), with a 5x margin.
    await Promise.race([starting, new Promise((r) => setTimeout(r, 1_000 * 5))]);
    const readyMs = performance.now() - freedAt;
    console.log(
      `a process started while every slot was taken: ${settled === 'ready' ? `ready ${Math.round(readyMs)} ms after a slot freed` : `not ready ${Math.round(readyMs)} ms after a slot freed`}`,
    );
    expect(settled).toBe('ready');
    expect((await create(late!, 'https://example.com/drill/connections/late')).status).toBe(201);
  });
});
