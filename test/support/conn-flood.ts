import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { captureOutput } from './child-process';
import type { CompiledApp } from './compiled-app';
import { READY_TIMEOUT_MS } from './compiled-app';
import type { FloodOptions, FloodReport } from './conn-flood-attacker';
import { freeTcpPort, pollUntil } from './owned-services';
import { testEnv } from './test-env';

export type { FloodReport } from './conn-flood-attacker';

const ROOT = path.resolve(__dirname, '../..');
const ATTACKER = path.join(__dirname, 'conn-flood-attacker.ts');
/** util-linux `prlimit`: runs a command with other resource limits (lowering them needs no privilege). */
export const PRLIMIT = '/usr/bin/prlimit';

/** The hard limit of open files of this process (from /proc/self/limits); Infinity when unlimited. */
export function hardFdLimit(): number {
  const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!line) throw new Error('no "Max open files" line in /proc/self/limits');
  return line[2] === 'unlimited' ? Infinity : Number(line[2]);
}

/** Descriptors an attacker process keeps for itself (Node, its pipes) below its limit. */
const ATTACKER_OWN_FDS = 256;

/**
 * Runs the connection-flood attacker (test/support/conn-flood-attacker.ts)
 * and returns the sum of what it saw. Raising a hard file-descriptor limit
 * takes CAP_SYS_RESOURCE, which a container's root may lack, so the
 * `connections` are split evenly over as many attacker processes as the
 * inherited hard limit needs (Node raises its soft limit to the hard one);
 * they run at the same time. Each bounds its own run and is killed
 * (SIGKILL) if it outlives that by 15 s.
 *
 * @throws when an attacker fails or prints no report.
 */
export async function runConnFlood(options: FloodOptions): Promise<FloodReport> {
  const perProcess = Math.max(1, Math.min(options.connections, hardFdLimit() - ATTACKER_OWN_FDS));
  const processes = Math.ceil(options.connections / perProcess);
  const shares = Array.from({ length: processes }, (_, i) => Math.floor(options.connections / processes) + (i < options.connections % processes ? 1 : 0));
  const reports = await Promise.all(shares.map((connections) => runAttacker({ ...options, connections })));
  return reports.reduce(addReports);
}

function runAttacker(options: FloodOptions): Promise<FloodReport> {
  const child = spawn(process.execPath, [ATTACKER, JSON.stringify(options)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output } = captureOutput(child);
  const bound = (options.openTimeoutMs ?? 30_000) + options.holdMs + 25_000;
  const killer = setTimeout(() => child.kill('SIGKILL'), bound);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      const line = output()
        .split('\n')
        .find((l) => l.startsWith('{"attempted"'));
      if (code !== 0 || !line) reject(new Error(`the flood attacker exited with ${code}:\n${output().slice(-2000)}`));
      else resolve(JSON.parse(line) as FloodReport);
    });
  });
}

function addReports(a: FloodReport, b: FloodReport): FloodReport {
  const errors = { ...a.connectErrors };
  for (const [code, n] of Object.entries(b.connectErrors)) errors[code] = (errors[code] ?? 0) + n;
  const after = { ...a.closedByServerAfter };
  for (const [bucket, n] of Object.entries(b.closedByServerAfter)) after[bucket as keyof typeof after] += n;
  return {
    attempted: a.attempted + b.attempted,
    connected: a.connected + b.connected,
    connectErrors: errors,
    closedByServer: a.closedByServer + b.closedByServer,
    closedByServerAfter: after,
    // The processes' peaks need not coincide: the sum bounds the true peak from above.
    peakOpen: a.peakOpen + b.peakOpen,
    openAtEnd: a.openAtEnd + b.openAtEnd,
    openMs: Math.max(a.openMs, b.openMs),
    heldMs: Math.max(a.heldMs, b.heldMs),
  };
}

/**
 * Starts `dist/apps/<name>/src/main.js` like {@link startCompiledApp} (free
 * ports, this Jest worker's environment plus `overrides`, ready once the
 * management server answers `/health/ready` with 200), but with its
 * file-descriptor limit set to `fdLimit` (soft and hard) by `prlimit`,
 * which execs Node: the child's pid is the app's.
 *
 * @throws when the build or `prlimit` is missing, the process exits, or it
 *   is not ready within {@link READY_TIMEOUT_MS}.
 */
export async function startCompiledAppWithFdLimit(name: 'api' | 'worker', fdLimit: number, overrides: Record<string, string> = {}): Promise<CompiledApp> {
  const main = path.join(ROOT, `dist/apps/${name}/src/main.js`);
  if (!existsSync(main)) throw new Error(`${path.relative(ROOT, main)} is missing: run \`npm run build\` first`);
  if (!existsSync(PRLIMIT)) throw new Error(`${PRLIMIT} is missing (util-linux)`);
  const [port, managementPort] = await Promise.all([freeTcpPort(), freeTcpPort()]);
  const env = { ...process.env, ...testEnv({ HTTP_PORT: String(port), MANAGEMENT_PORT: String(managementPort), ...overrides }) };
  const child = spawn(PRLIMIT, [`--nofile=${fdLimit}:${fdLimit}`, '--', process.execPath, main], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, logLines } = captureOutput(child);
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
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
    await pollUntil(
      `${name} (fd limit ${fdLimit}) to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output()}`);
        const res = await fetch(`${managementUrl}/health/ready`).catch(() => null);
        return res?.status === 200;
      },
      READY_TIMEOUT_MS,
    );
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n--- ${name} output ---\n${output().slice(-3000)}`);
  }
  return app;
}
