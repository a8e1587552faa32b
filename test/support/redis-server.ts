import { freePort } from './child-process';
import { ChildProcess, spawn } from 'node:child_process';
import Redis from 'ioredis';
import { waitUntil } from './wait';

/** A redis-server owned by one test: started and stopped by it, on a free port, without persistence. */
export interface OwnedRedis {
  port: number;
  url: string;
  /** Stops the server (SIGKILL: its in-memory data is gone) and starts an empty one on the same port. */
  restart: () => Promise<void>;
  stop: () => Promise<void>;
}

async function pingable(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Starts `redis-server --port <free> --save ""` (the binary on PATH) and waits until it answers PING. */
export async function startOwnedRedis(): Promise<OwnedRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}/0`;
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitUntil(
      `redis-server on port ${port} to answer`,
      async () => {
        if (child?.exitCode !== null) throw new Error(`redis-server exited with ${child?.exitCode}: ${output.slice(-1000)}`);
        return { done: await pingable(url), state: output.length };
      },
      { timeoutMs: 10_000, stallTimeoutMs: 10_000 },
    );
  };
  const stop = async () => {
    const c = child;
    if (c?.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => {
        resolve();
      });
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url,
    restart: async () => {
      await stop();
      await start();
    },
    stop,
  };
}
