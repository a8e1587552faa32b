// Child processes of the bench: pinned to a CPU with taskset where the
// machine has cores to spare, logged to files, stopped by pid only.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';

/** Number of CPUs this process may run on. */
export const CPUS = availableParallelism();

/**
 * CPU placement: the server under test on the last CPU, the load generator on
 * the first, so they never take turns on one core. With one CPU nothing is
 * pinned. Everything else (PostgreSQL, Redis, the worker) is left to the OS.
 */
export const PLACEMENT = CPUS >= 2 && hasTaskset() ? { server: String(CPUS - 1), load: '0' } : { server: null, load: null };

function hasTaskset() {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** `[cmd, args]` prefixed with `taskset -c <cpu>` when `cpu` is set. */
export function pinned(cpu, cmd, args) {
  return cpu === null ? [cmd, args] : ['taskset', ['-c', cpu, cmd, ...args]];
}

/** A free TCP port on 127.0.0.1 (the OS picks it; released before returning). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in MiB, or null once it is gone. */
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

// Linux reports process CPU time in clock ticks of 1/100 s (USER_HZ) on every supported architecture.
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system) a process has used so far, in seconds, or null once
 * it is gone. Divided by the requests of a run it gives CPU per request, a
 * figure that other load on the machine disturbs far less than throughput.
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

const running = new Set();

/**
 * Starts a long-running child (server, worker) with its output in `logFile`.
 * @returns {{name: string, pid: number, child: import('node:child_process').ChildProcess, exited: Promise<number|null>, log: () => string, stop: () => Promise<void>}}
 */
export function startChild(name, cmd, args, { env, cwd, logFile, cpu = null }) {
  const [command, argv] = pinned(cpu, cmd, args);
  // The child writes its output to the file itself: through a pipe, every line would wake this process,
  // which is not pinned and would take CPU time from the server under test.
  const out = openSync(logFile, 'a');
  const child = spawn(command, argv, { env, cwd, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  const handle = {
    name,
    pid: child.pid,
    child,
    exited,
    log: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    // SIGTERM (graceful shutdown), SIGKILL after 15 s; only this child's pid.
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(handle);
    },
  };
  running.add(handle);
  return handle;
}

/** Stops every child still running (on exit, error or Ctrl-C). */
export async function stopAll() {
  await Promise.all([...running].map((c) => c.stop()));
}

/**
 * Polls `check` until it returns true, the child exits, or the deadline passes.
 * @throws naming the child and the tail of its log
 */
export async function waitUntil(what, check, { child, timeoutMs = 60_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A child stopped by a signal (Ctrl-C's stopAll) has no exit code but its signal.
    if (child && (child.child.exitCode !== null || child.child.signalCode !== null))
      throw new Error(`${child.name} exited (${child.child.exitCode ?? child.child.signalCode}) while waiting for ${what}:\n${child.log().slice(-3000)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${child ? `:\n${child.log().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Samples the RSS of some processes every `intervalMs` and keeps each one's maximum. */
export function rssSampler(children, intervalMs = 250) {
  const max = new Map();
  const sample = () => {
    for (const c of children) {
      const v = rssMiB(c.pid);
      if (v !== null) max.set(c.name, Math.max(max.get(c.name) ?? 0, v));
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(max);
    },
  };
}
