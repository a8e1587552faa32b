import type { Queue } from 'bullmq';
import { ChildProcess, spawn } from 'node:child_process';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { captureOutput, freePort, REPO_ROOT } from '../support/child-process';
import { READY_TIMEOUT_MS } from '../support/compiled-app';
import { waitUntil } from '../support/wait';
import { queueCounts, QueueCounts } from '../support/pipeline-wait';
import { ADMIN_URL, databaseUrl, runId, TEST_ADMIN_KEY, templateDatabaseName, testConfig, testEnv, workerDatabaseName, workerId } from '../support/test-env';
import { testQueue, uniqueQueuePrefix } from '../support/worker-app';

/**
 * A start that waits: the compiled API and worker start while PostgreSQL or
 * Redis is unreachable (or refuses the database), stay alive with liveness
 * up and readiness down naming the dependency, take no jobs, and serve once
 * the dependency becomes reachable, without a restart. The dependency
 * "appears" as a forwarder this test opens on the port the app was given,
 * to the real server.
 */
jest.setTimeout(240_000);

/** The apps' longest retry delay here: reconnection is then due within about this after the dependency appears. */
const BACKOFF_MAX_MS = 1_000;
/** Bound of "ready after the dependency appeared": 5 x (longest retry delay + a connection and the startup work, 1 s). */
const READY_AFTER_MS = 5 * (BACKOFF_MAX_MS + 1_000);
/** The longest reconnect delay of the apps' Redis clients that readiness checks (libs/redis cacheRedisOptions). */
const REDIS_RECONNECT_MAX_MS = 2_000;
const REDIS_READY_AFTER_MS = 5 * (REDIS_RECONNECT_MAX_MS + 1_000);
const WAITING_ENV = { DATABASE_CONNECT_BACKOFF_INITIAL_MS: '100', DATABASE_CONNECT_BACKOFF_MAX_MS: String(BACKOFF_MAX_MS), LOG_LEVEL: 'info' };
const AUTH = { authorization: `Bearer ${TEST_ADMIN_KEY}` };

interface Started {
  child: ChildProcess;
  url: string;
  managementUrl: string;
  logLines(): Record<string, unknown>[];
  stop(): Promise<void>;
}

/**
 * Starts `dist/apps/<name>/src/main.js` (as startCompiledApp does) but waits
 * only for liveness: readiness is what the tests look at.
 */
async function startLive(name: 'api' | 'worker', overrides: Record<string, string>): Promise<Started> {
  const [port, managementPort] = await Promise.all([freePort(), freePort()]);
  const env = { ...process.env, ...testEnv({ HTTP_PORT: String(port), MANAGEMENT_PORT: String(managementPort), ...WAITING_ENV, ...overrides }) };
  const child = spawn(process.execPath, [path.join(REPO_ROOT, `dist/apps/${name}/src/main.js`)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, logLines } = captureOutput(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  const started: Started = {
    child,
    url: `http://127.0.0.1:${port}`,
    managementUrl,
    logLines,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    },
  };
  try {
    await waitUntil(
      `${name} to answer /health/live`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`);
        return (await fetch(`${managementUrl}/health/live`).catch(() => null))?.status === 200;
      },
      { timeoutMs: READY_TIMEOUT_MS },
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return started;
}

interface Check {
  status: string;
  critical: boolean;
  reached?: boolean;
  reason?: string;
}

async function probe(app: Started, which: 'live' | 'ready'): Promise<{ status: number; details: Record<string, Check> }> {
  const res = await fetch(`${app.managementUrl}/health/${which}`);
  return { status: res.status, details: ((await res.json()) as { details: Record<string, Check> }).details };
}

/** Waits until the app's readiness reports `dependency` down with a reason matching `reason` at attempt 3 or later (retries are happening). */
async function downRetrying(app: Started, dependency: string, reason: RegExp): Promise<Check> {
  return waitUntil(
    `${dependency} to be reported down after retries`,
    async () => {
      const { details } = await probe(app, 'ready');
      const attempt = Number(/\(attempt (\d+)\)$/.exec(details[dependency]?.reason ?? '')?.[1] ?? 0);
      return { done: reason.test(details[dependency]?.reason ?? '') && (dependency !== 'postgres' || attempt >= 3), state: details[dependency] };
    },
    { timeoutMs: 60_000, stallTimeoutMs: 60_000 },
  );
}

async function readyWithin(app: Started, ms: number): Promise<void> {
  await waitUntil('readiness 200', async () => (await probe(app, 'ready')).status === 200, { timeoutMs: ms });
}

/** A TCP forwarder on `port` of 127.0.0.1 to `target`: the moment a dependency becomes reachable there. */
async function forward(port: number, target: { host: string; port: number }): Promise<{ close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    for (const s of [client, upstream]) {
      open.add(s);
      s.once('close', () => open.delete(s));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

const PG = { host: '127.0.0.1', port: Number(new URL(ADMIN_URL).port || 5432) };
const REDIS = { host: '127.0.0.1', port: 6379 };
/** The Jest worker's database, reached through `port`. */
const dbThrough = (port: number, name = workerDatabaseName()) => {
  const url = new URL(databaseUrl(name));
  url.port = String(port);
  return url.toString();
};

async function createAndRedirect(api: Started, alias: string): Promise<[number, number, string | null]> {
  const created = await fetch(`${api.url}/api/v1/links`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `https://example.com/${alias}`, alias }),
  });
  const redirect = await fetch(`${api.url}/${alias}`, { redirect: 'manual' });
  return [created.status, redirect.status, redirect.headers.get('location')];
}

const alias = (label: string) => `${label}-${workerId()}-${Date.now().toString(36)}`;
const connectorLines = (app: Started) => app.logLines().filter((l) => l.context === 'Database');

/** The stats totals of link `code` once its one click is rolled up (30 s at most, failing when nothing moves for 10 s). */
function rolledUpClick(api: { url: string }, code: string): Promise<{ clicks: number } | undefined> {
  return waitUntil(
    'the click to be rolled up',
    async () => {
      const res = await fetch(`${api.url}/api/v1/links/${code}/stats`, { headers: AUTH });
      const body = (await res.json()) as { totals?: { clicks: number } };
      return { done: body.totals?.clicks === 1, state: body.totals };
    },
    { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
  );
}
describe('a start that waits for PostgreSQL', () => {
  const started: Started[] = [];
  const forwarders: { close(): Promise<void> }[] = [];
  let clicks: Queue | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((a) => a.stop()));
    await Promise.all(forwarders.splice(0).map((f) => f.close()));
    await clicks?.obliterate({ force: true }).catch(() => undefined);
    await clicks?.close();
    clicks = undefined;
  });

  it('API: alive and unready naming PostgreSQL while it refuses connections, then ready and serving once it is reachable', async () => {
    const pgPort = await freePort();
    const api = await startLive('api', { DATABASE_URL: dbThrough(pgPort) });
    started.push(api);

    const down = await downRetrying(api, 'postgres', /^not connected yet: connect ECONNREFUSED 127\.0\.0\.1:\d+ \(attempt \d+\)$/);
    expect({ ...down, reason: undefined }).toEqual({ status: 'down', critical: true, reached: false, reason: undefined });
    const ready = await probe(api, 'ready');
    expect([ready.status, (await probe(api, 'live')).status, api.child.exitCode]).toEqual([503, 200, null]);
    // Attempts are summarised: the first at once, then at most one line per 10 s.
    const warned = connectorLines(api);
    expect(warned[0]).toMatchObject({ level: 'warn', msg: expect.stringMatching(/^PostgreSQL not connected yet, retrying: connect ECONNREFUSED/) });
    expect(warned.length).toBeLessThan(Number(/\(attempt (\d+)\)$/.exec(down.reason ?? '')?.[1]));

    forwarders.push(await forward(pgPort, PG));
    await readyWithin(api, READY_AFTER_MS);
    expect(connectorLines(api).at(-1)).toMatchObject({ level: 'info', msg: expect.stringMatching(/^PostgreSQL connected after \d+ attempts/) });
    const a = alias('waited');
    expect(await createAndRedirect(api, a)).toEqual([201, 302, `https://example.com/${a}`]);
  });

  it('worker: takes no job while PostgreSQL refuses connections, then rolls the waiting click up once it is reachable', async () => {
    const env = { QUEUE_PREFIX: uniqueQueuePrefix('start-waits') };
    clicks = testQueue(testConfig('api', env));
    const pgPort = await freePort();
    const api = await startLive('api', env);
    started.push(api);
    await readyWithin(api, READY_TIMEOUT_MS);
    const worker = await startLive('worker', { ...env, DATABASE_URL: dbThrough(pgPort) });
    started.push(worker);

    const a = alias('queued');
    expect(await createAndRedirect(api, a)).toEqual([201, 302, `https://example.com/${a}`]);
    await downRetrying(worker, 'postgres', /^not connected yet: connect ECONNREFUSED/);
    const held = await waitUntil(
      'the click batch to wait in the queue',
      async () => {
        const counts = await queueCounts(clicks!);
        return { done: counts.waiting + counts.prioritized >= 1, state: counts };
      },
      { timeoutMs: 30_000, stallTimeoutMs: 10_000 },
    );
    // Retrying meanwhile (attempt 3 or later), and not one job taken.
    await downRetrying(worker, 'postgres', /^not connected yet: /);
    expect(await queueCounts(clicks)).toEqual<QueueCounts>({ ...held, active: 0, failed: 0, completed: 0, delayed: 0 });
    expect([(await probe(worker, 'ready')).status, (await probe(worker, 'live')).status, worker.child.exitCode]).toEqual([503, 200, null]);

    forwarders.push(await forward(pgPort, PG));
    await readyWithin(worker, READY_AFTER_MS);
    const totals = await rolledUpClick(api, a);
    expect(totals).toMatchObject({ clicks: 1 });
    expect(await queueCounts(clicks)).toMatchObject({ waiting: 0, active: 0, failed: 0 });
  });

  it('API: a database that does not exist yet is logged as an error with its hint and retried until it is created', async () => {
    const name = `shortener_test_${runId()}_w${workerId()}_late`;
    const admin = new Client({ connectionString: ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      const api = await startLive('api', { DATABASE_URL: databaseUrl(name) });
      started.push(api);
      await downRetrying(api, 'postgres', new RegExp(`^not connected yet: database "${name}" does not exist \\(3D000\\) \\(attempt \\d+\\)$`));
      expect(connectorLines(api)[0]).toMatchObject({
        level: 'error',
        msg: `PostgreSQL refuses the configured connection, retrying: database "${name}" does not exist (3D000): the database does not exist: create it, or correct DATABASE_URL's database name`,
      });
      expect([(await probe(api, 'live')).status, api.child.exitCode]).toEqual([200, null]);

      await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${templateDatabaseName()}"`);
      await readyWithin(api, READY_AFTER_MS);
      const a = alias('late');
      expect(await createAndRedirect(api, a)).toEqual([201, 302, `https://example.com/${a}`]);
      await api.stop();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('a start that waits for Redis', () => {
  const started: Started[] = [];
  let forwarder: { close(): Promise<void> } | undefined;
  let clicks: Queue | undefined;
  afterEach(async () => {
    await Promise.all(started.splice(0).map((a) => a.stop()));
    // Through the forwarder: before it closes.
    await clicks?.obliterate({ force: true }).catch(() => undefined);
    await clicks?.close();
    await forwarder?.close();
  });

  it('API and worker: alive and unready naming the Redis they have not reached, then ready, serving and rolling up once it is reachable', async () => {
    const redisPort = await freePort();
    const redisUrl = `redis://127.0.0.1:${redisPort}/0`;
    const env = { QUEUE_PREFIX: uniqueQueuePrefix('start-waits-redis'), REDIS_CACHE_URL: redisUrl, REDIS_QUEUE_URL: redisUrl };
    const [api, worker] = await Promise.all([startLive('api', env), startLive('worker', env)]);
    started.push(api, worker);

    const unreached = {
      status: 'down',
      critical: true,
      reached: false,
      reason: expect.stringMatching(/^not connected \((connecting|reconnecting)\)$|timed out after/),
    };
    await downRetrying(api, 'redis_queue', /^not connected/);
    await waitUntil('the API to reach PostgreSQL', async () => (await probe(api, 'ready')).details.postgres.status === 'up', { timeoutMs: READY_TIMEOUT_MS });
    const apiReady = await probe(api, 'ready');
    expect({
      status: apiReady.status,
      cache: apiReady.details.redis_cache,
      queue: apiReady.details.redis_queue,
      postgres: apiReady.details.postgres.status,
    }).toEqual({
      status: 503,
      cache: unreached,
      queue: unreached,
      postgres: 'up',
    });
    await downRetrying(worker, 'redis_queue', /^not connected/);
    const workerReady = await probe(worker, 'ready');
    expect({ status: workerReady.status, queue: workerReady.details.redis_queue }).toEqual({ status: 503, queue: unreached });
    expect([(await probe(api, 'live')).status, (await probe(worker, 'live')).status, api.child.exitCode, worker.child.exitCode]).toEqual([
      200,
      200,
      null,
      null,
    ]);

    forwarder = await forward(redisPort, REDIS);
    await Promise.all([readyWithin(api, REDIS_READY_AFTER_MS), readyWithin(worker, REDIS_READY_AFTER_MS)]);
    clicks = testQueue(testConfig('api', { ...env, REDIS_QUEUE_URL: redisUrl }));
    const a = alias('redis-late');
    expect(await createAndRedirect(api, a)).toEqual([201, 302, `https://example.com/${a}`]);
    const totals = await rolledUpClick(api, a);
    expect(totals).toMatchObject({ clicks: 1 });
  });
});
