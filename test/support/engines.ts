import { loadConfig } from '@shortener/config';
import { runMigrations } from '@shortener/database';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { captureOutput, freePort } from './child-process';
import { waitUntil } from './wait';

/**
 * The engines harness (docs/design.md section 10): database and cache servers
 * that one test file owns. It starts, stops and restarts them to show how the
 * apps behave during an outage, or fills and breaks them in fault drills,
 * without touching the shared servers other Jest workers use. Everything
 * listens on 127.0.0.1 only, on a free port, and every wait polls with
 * {@link waitUntil} under a deadline.
 */

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
/** How long a redis-server may take to answer PING after its start, or to free its port after its stop (ms). */
const REDIS_WAIT_MS = 15_000;
/** How long pg_ctl waits for a cluster to start or stop (s). */
const PG_CTL_WAIT_S = '30';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** Whether a Redis server answers PING on 127.0.0.1:port within 500 ms (RESP `+PONG`, over a raw connection). */
function redisPongs(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** A redis-server owned by one test file: a free port on 127.0.0.1, no persistence (`--save ""`, no AOF). */
export interface OwnedRedis {
  port: number;
  /** `redis://127.0.0.1:<port>/0`. */
  url: string;
  /**
   * Sends `signal` (SIGTERM unless given; SIGKILL for a crash) and resolves
   * once the server has exited and its port refuses connections. Either way
   * its data is gone. Does nothing when the server is not running.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts an empty server on the same port again and resolves once it answers PING. */
  start(): Promise<void>;
}

/**
 * Starts `redis-server` (the binary on PATH) on a free port and resolves once
 * it answers PING.
 *
 * @throws when the server exits before it answers (the error carries its
 *   output) or does not answer within 15 s; {@link OwnedRedis.start} and
 *   {@link OwnedRedis.stop} throw the same way, stop when the port still
 *   accepts connections 15 s after the exit.
 */
export async function startOwnedRedis(): Promise<OwnedRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const start = async (): Promise<void> => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    const { output } = captureOutput(c);
    await waitUntil(
      `redis-server on port ${port} to answer PING`,
      async () => {
        if (!running(c)) throw new Error(`redis-server on port ${port} exited (${c.exitCode ?? c.signalCode}): ${output().slice(-1000)}`);
        return redisPongs(port);
      },
      { timeoutMs: REDIS_WAIT_MS },
    );
  };
  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || !running(c)) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
    await waitUntil(`redis-server on port ${port} to stop`, async () => !(await accepts(port)), { timeoutMs: REDIS_WAIT_MS });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}/0`, stop, start };
}

/** A PostgreSQL 15 cluster owned by one test file: a temp data directory, a free port on 127.0.0.1, trust auth. */
export interface OwnedPostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/<name>`: database `name` as the `postgres` superuser. */
  url(name: string): string;
  /** Fast shutdown (`pg_ctl stop -m fast`, waiting up to 30 s); clients see their connections end. */
  stop(): Promise<void>;
  /** Starts the stopped cluster again (`pg_ctl start`, waiting up to 30 s until it accepts connections). */
  start(): Promise<void>;
  /** Stops the cluster (if running) and deletes its directory. */
  destroy(): Promise<void>;
}

/**
 * Creates and starts a cluster: `initdb` into a fresh temp directory owned by
 * the `postgres` OS user, then `pg_ctl start`, both as that user (PostgreSQL
 * refuses to run as root and the tests run as root), with fsync and full page
 * writes off. `settings` are further server settings (`-c name=value`), e.g.
 * `{ max_connections: 20 }`.
 *
 * @throws when the `postgres` user is missing, or initdb or pg_ctl fails
 *   (pg_ctl gives up after 30 s); the error carries the command's output.
 */
export async function startOwnedPostgres(settings: Record<string, string | number> = {}): Promise<OwnedPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'shortener-pg-'));
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  const data = path.join(dir, 'data');
  const asPostgres = (bin: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]);
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const extra = Object.entries(settings)
    .map(([name, value]) => ` -c ${name}=${value}`)
    .join('');
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off${extra}`;
  const start = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', PG_CTL_WAIT_S, 'start']);
  };
  const stop = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', PG_CTL_WAIT_S, 'stop']);
  };
  await start();
  return {
    port,
    url: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    stop,
    start,
    destroy: async () => {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The database a drill's apps use on their own cluster. */
export const DRILL_DATABASE = 'shortener';

/** An owned cluster with {@link DRILL_DATABASE} created and migrated. */
export interface MigratedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/shortener`: the migrated database, as the superuser. */
  url: string;
  port: number;
  /** The cluster itself (stop, start). */
  cluster: OwnedPostgres;
  /** Stops the cluster and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster ({@link startOwnedPostgres}), creates {@link DRILL_DATABASE}
 * and applies the project's migrations to it as the global setup does for the
 * shared test databases. `maxConnections` sets `max_connections` (PostgreSQL
 * keeps `superuser_reserved_connections`, 3, of them for superusers; the
 * drills connect as the superuser, so every slot is theirs to fill).
 *
 * @throws when the cluster does not start or a migration fails (the cluster is removed first).
 */
export async function startMigratedPostgres(options: { maxConnections?: number } = {}): Promise<MigratedPostgres> {
  const cluster = await startOwnedPostgres(options.maxConnections ? { max_connections: options.maxConnections } : {});
  const url = cluster.url(DRILL_DATABASE);
  try {
    const admin = new Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${DRILL_DATABASE}`);
    } finally {
      await admin.end();
    }
    await runMigrations(loadConfig('migrations', { DATABASE_URL: url, NODE_ENV: 'test' }));
  } catch (e) {
    await cluster.destroy();
    throw e;
  }
  return { url, port: cluster.port, cluster, stop: () => cluster.destroy() };
}
