import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './child-process';
import { waitUntil } from './wait';

/**
 * Test-owned servers (docs/design.md section 10): a redis-server and a PostgreSQL
 * cluster that one test file starts, stops and restarts to show how the apps
 * behave during an outage, without touching the shared servers other Jest
 * workers use. Every wait polls with a deadline ({@link waitUntil}).
 */

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

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

/** Answers a Redis PING over a raw connection (RESP `+PONG`). */
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

/** A redis-server owned by one test file, on a free port, no persistence. */
export interface OwnedRedis {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and waits until the port refuses connections. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits for PONG. */
  start(): Promise<void>;
}

/** Starts a redis-server (`--save ""`, no AOF) on a free port. */
export async function startOwnedRedis(): Promise<OwnedRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitUntil(`redis-server on ${port}`, () => redisPongs(port), { timeoutMs: 15_000 });
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c?.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
    await waitUntil(`redis-server on ${port} to stop`, async () => !(await accepts(port)), { timeoutMs: 15_000 });
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}/0`, stop, start };
}

/** A PostgreSQL 15 cluster owned by one test file: temp data directory, free port, trust auth. */
export interface OwnedPostgres {
  port: number;
  /** Connection URL of database `name` as the `postgres` superuser. */
  url(name: string): string;
  /** Fast shutdown (`pg_ctl stop -m fast`); clients see their connections end. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and deletes its directory. */
  destroy(): Promise<void>;
}

/**
 * initdb + pg_ctl into a temp directory, as the `postgres` user (PostgreSQL
 * refuses to run as root and the tests run as root), fsync off. `settings`
 * are further server settings (`-c name=value`), e.g. `max_connections`.
 */
export async function startOwnedPostgres(settings: Record<string, string | number> = {}): Promise<OwnedPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'shortener-pg-'));
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  const data = path.join(dir, 'data');
  const asPostgres = (bin: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]);
  await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const extra = Object.entries(settings)
    .map(([name, value]) => ` -c ${name}=${value}`)
    .join('');
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off${extra}`;
  const start = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, '-o', options, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']);
  };
  const stop = async (): Promise<void> => {
    await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
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
