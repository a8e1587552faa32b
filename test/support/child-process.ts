import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { testEnv } from './test-env';
import { waitUntil } from './wait';

/** What a child process wrote, collected as it runs. */
export interface CapturedOutput {
  /** Everything written to stdout and stderr so far, interleaved. */
  output(): string;
  /** stdout lines that parse as JSON (pino and the migration runner log JSON); a line still being written is skipped. */
  logLines(): Record<string, unknown>[];
}

/** Collects a child's stdout and stderr (spawned with both piped). */
export function captureOutput(child: ChildProcess): CapturedOutput {
  let output = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return {
    output: () => output,
    logLines: () =>
      stdout.split('\n').flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return []; // A line still being written.
        }
      }),
  };
}

export const REPO_ROOT = path.resolve(__dirname, '../..');

/** A free TCP port on 127.0.0.1 (the OS picks it; released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  });
}

/** A compiled app running as a child process. */
export interface ChildApp {
  process: ChildProcess;
  /** Base URL of the public port (API only). */
  url: string;
  port: number;
  managementPort: number;
  output: () => string;
  /** Sends SIGTERM and waits for the exit; SIGKILL after the deadline. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts `dist/apps/<name>/src/main.js` (run `npm run build` first) with this
 * Jest worker's environment plus overrides, and waits until `ready` passes
 * (by default, for the API: `/health/ready` answers 200, so it is connected
 * to PostgreSQL with its startup work done).
 */
export async function startChildApp(
  name: 'api' | 'worker',
  overrides: Record<string, string> = {},
  options: { preload?: string[]; ready?: (app: ChildApp) => Promise<boolean> } = {},
): Promise<ChildApp> {
  const port = await freePort();
  const managementPort = await freePort();
  const env = { ...process.env, ...testEnv({ HTTP_PORT: String(port), MANAGEMENT_PORT: String(managementPort), ...overrides }) };
  const preload = (options.preload ?? []).flatMap((p) => ['--require', p]);
  const child = spawn(process.execPath, [...preload, path.join(REPO_ROOT, `dist/apps/${name}/src/main.js`)], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { output } = captureOutput(child);
  const app: ChildApp = {
    process: child,
    url: `http://127.0.0.1:${port}`,
    port,
    managementPort,
    output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve(child.exitCode);
          return;
        }
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', (code) => {
          clearTimeout(timer);
          resolve(code);
        });
        child.kill(signal);
      }),
  };
  const ready =
    options.ready ??
    (async (a: ChildApp) => {
      if (name !== 'api') return true;
      const res = await fetch(`http://127.0.0.1:${a.managementPort}/health/ready`).catch(() => null);
      return res?.status === 200;
    });
  await waitUntil(
    `${name} child process to be ready`,
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`);
      return ready(app);
    },
    { timeoutMs: 30_000, describe: () => output().slice(-2000) },
  );
  return app;
}
