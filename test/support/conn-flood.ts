import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { captureOutput } from './child-process';
import type { FloodOptions, FloodReport } from './conn-flood-attacker';

export type { FloodReport } from './conn-flood-attacker';

const ROOT = path.resolve(__dirname, '../..');
const ATTACKER = path.join(__dirname, 'conn-flood-attacker.ts');

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
