import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { waitUntil } from './wait';
import { freePort } from './child-process';
import { testEnv } from './test-env';
import { captureOutput } from './child-process';
import { chartNodeOptions } from '../../scripts/node-options.mjs';

const ROOT = path.resolve(__dirname, '../..');
/**
 * Deadline of a compiled app's boot. Loading the app with the tracing
 * instrumentation takes a few seconds on an idle 2-core machine and several
 * times that when other test files load theirs at the same time.
 */
export const READY_TIMEOUT_MS = 90_000;
/** The tracing bootstrap the `start:*` scripts `--require` before the app. */
export const TRACING_REGISTER = path.join(ROOT, 'dist/libs/observability/src/tracing/register.js');

/** util-linux `prlimit`: runs a command with other resource limits (lowering them needs no privilege). */
export const PRLIMIT = '/usr/bin/prlimit';

/** A compiled app (`npm run build`) running as a child process, as in production. */
export interface CompiledApp {
  child: ChildProcess;
  /** Public base URL (API only). */
  url: string;
  managementUrl: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** stdout lines that parse as JSON (the pino log lines). */
  logLines(): Record<string, unknown>[];
  /** Resolves once the process exited: its exit code, or the signal that ended it. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGTERM, then what {@link exited} resolves with; SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | NodeJS.Signals | null>;
}

/**
 * Starts `dist/apps/<name>/src/main.js` like `npm run start:<name>` (with
 * `--require` of the tracing register script when `tracing` is set) on free
 * ports, with this Jest worker's environment ({@link testEnv}) plus
 * `overrides`, and waits until its management server answers
 * `/health/ready` with 200. `chartHeap` gives it the chart's Node options
 * (the pods' heap sizes, charts/shortener/values.yaml); `fdLimit` starts it
 * under that file-descriptor limit (soft and hard, through `prlimit`);
 * `spawned` is handed the child process at once, before it is ready (to stop
 * one that never gets there).
 *
 * @throws when the build is missing, the process exits, or it is not ready
 *   within {@link READY_TIMEOUT_MS}.
 */
export async function startCompiledApp(
  name: 'api' | 'worker',
  overrides: Record<string, string> = {},
  options: { tracing?: boolean; chartHeap?: boolean; fdLimit?: number; spawned?: (child: ChildProcess) => void } = {},
): Promise<CompiledApp> {
  const main = path.join(ROOT, `dist/apps/${name}/src/main.js`);
  if (!existsSync(main) || (options.tracing && !existsSync(TRACING_REGISTER))) {
    throw new Error(`${path.relative(ROOT, main)} is missing: run \`npm run build\` before the e2e tests`);
  }
  const [port, managementPort] = await Promise.all([freePort(), freePort()]);
  const heap: Record<string, string> = options.chartHeap ? { NODE_OPTIONS: chartNodeOptions(name) } : {};
  const env = { ...process.env, ...testEnv({ HTTP_PORT: String(port), MANAGEMENT_PORT: String(managementPort), ...heap, ...overrides }) };
  const args = [...(options.tracing ? ['--require', TRACING_REGISTER] : []), main];
  // prlimit execs Node, so the child's pid is the app's.
  const [command, commandArgs] = options.fdLimit
    ? [PRLIMIT, [`--nofile=${options.fdLimit}:${options.fdLimit}`, '--', process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, commandArgs, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  options.spawned?.(child);
  const { output, logLines } = captureOutput(child);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve(signal ?? code);
    }),
  );
  const managementUrl = `http://127.0.0.1:${managementPort}`;
  const app: CompiledApp = {
    child,
    url: `http://127.0.0.1:${port}`,
    managementUrl,
    output,
    logLines,
    exited,
    stop: async (timeoutMs = 15_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.signalCode ?? child.exitCode;
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.kill('SIGTERM');
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  try {
    await waitUntil(
      `${name} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`);
        const res = await fetch(`${managementUrl}/health/ready`).catch(() => null);
        return res?.status === 200;
      },
      { timeoutMs: READY_TIMEOUT_MS },
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n--- ${name} output ---\n${output().slice(-3000)}`);
  }
  return app;
}

/**
 * The resident set size of a process in MiB (`VmRSS` of /proc/<pid>/status, Linux).
 * @throws when the process is gone
 */
export function rssMiB(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) / 1024;
}
