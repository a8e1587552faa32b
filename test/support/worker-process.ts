import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { testEnv } from './test-env';
import { waitUntil } from './wait';
import { captureOutput } from './child-process';

const ROOT = path.resolve(__dirname, '../..');
/** The compiled worker (`npm run build`). */
export const WORKER_MAIN = path.join(ROOT, 'dist/apps/worker/src/main.js');

/** The compiled worker running as a child process of the test. */
export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends the signal and resolves with the exit code or signal once the process has exited. */
  kill: (signal: NodeJS.Signals) => Promise<number | string | null>;
}

/**
 * Starts `node dist/apps/worker/src/main.js` with this Jest worker's
 * environment plus overrides and waits for its "worker taking jobs" line (its
 * BullMQ workers run from then on; they start once PostgreSQL is connected).
 * @throws when the build is missing, the process exits, or it does not start within 30 s.
 */
export async function startWorkerProcess(overrides: Record<string, string> = {}): Promise<WorkerProcess> {
  if (!existsSync(WORKER_MAIN)) throw new Error(`${WORKER_MAIN} is missing: run npm run build first`);
  const child = spawn(process.execPath, [WORKER_MAIN], { cwd: ROOT, env: { ...process.env, ...testEnv(overrides) }, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output } = captureOutput(child);
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve(signal ?? code);
    }),
  );
  await waitUntil(
    'the worker process to start',
    async () => {
      if (child.exitCode !== null) throw new Error(`worker exited with ${child.exitCode}: ${output().slice(-2000)}`);
      return { done: output().includes('"msg":"worker taking jobs"'), state: output().length };
    },
    { timeoutMs: 30_000, stallTimeoutMs: 30_000 },
  );
  return {
    child,
    output,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
