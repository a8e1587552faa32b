// Load generation for the bench: wrk (Debian's package) with the Lua scripts
// beside this file, or, where wrk is missing, the small Node generator in
// ../node-load.mjs (good enough for the smoke test; its figures are lower).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLACEMENT, pinned } from './processes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const active = new Set();

/** Kills the load generators still running (Ctrl-C); they stop by themselves otherwise. */
export function killLoads() {
  for (const child of active) child.kill('SIGKILL');
}
const benchDir = path.resolve(here, '..');

/** 'wrk' when the wrk binary answers, else 'node'. */
export function detectLoadTool() {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return r.error ? 'node' : 'wrk';
}

/**
 * One bounded load run; stops by itself after `seconds`.
 * @param {object} o
 * @param {'wrk'|'node'} o.tool
 * @param {string} o.url base URL (loopback)
 * @param {'codes'|'create'} o.kind GET /<code> over `codesFile`, or POST /api/v1/links
 * @param {string} [o.codesFile]
 * @param {string} [o.apiKey] for creates
 * @param {number} o.connections
 * @param {number} o.seconds
 * @param {number} [o.rate] fixed offered rate in requests per second (else as fast as responses come)
 * @returns {Promise<{requests: number, seconds: number, rps: number, errors: number, errorDetail: object, latencyMs: {p50: number, p90: number, p99: number, p999: number, max: number, mean: number}}>}
 */
export async function runLoad(o) {
  const seconds = Math.max(1, Math.round(o.seconds));
  let cmd;
  let args;
  const env = { ...process.env };
  if (o.tool === 'wrk') {
    const script = path.join(benchDir, o.kind === 'create' ? 'create.lua' : 'codes.lua');
    // One thread: the load generator has one core of its own (more threads would only take turns on it).
    args = [
      '-t1',
      `-c${o.connections}`,
      `-d${seconds}s`,
      '--timeout',
      '10s',
      '--latency',
      '-s',
      script,
      o.url,
      '--',
      o.kind === 'create' ? o.apiKey : o.codesFile,
    ];
    if (o.rate) env.BENCH_RATE = String(o.rate);
    [cmd, args] = pinned(PLACEMENT.load, 'wrk', args);
  } else {
    const config = JSON.stringify({
      url: o.url,
      kind: o.kind,
      codesFile: o.codesFile,
      apiKey: o.apiKey,
      connections: o.connections,
      seconds,
      rate: o.rate ?? 0,
    });
    [cmd, args] = pinned(PLACEMENT.load, process.execPath, [path.join(benchDir, 'node-load.mjs'), config]);
  }
  const { stdout, stderr, code } = await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    active.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // wrk stops by itself; this is only a guard against a hung generator.
    const guard = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('exit', (c) => {
      active.delete(child);
      clearTimeout(guard);
      resolve({ stdout: out, stderr: err, code: c });
    });
  });
  const line = stdout.split('\n').find((l) => l.startsWith('@@bench-json '));
  if (code !== 0 || !line) throw new Error(`${o.tool} failed (exit ${code}):\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`);
  const r = JSON.parse(line.slice('@@bench-json '.length));
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const ms = (us) => us / 1000;
  const measured = r.duration_us / 1e6;
  return {
    requests: r.requests,
    seconds: measured,
    rps: r.requests / measured,
    errors,
    errorDetail: r.errors,
    latencyMs: {
      p50: ms(r.latency_us.p50),
      p90: ms(r.latency_us.p90),
      p99: ms(r.latency_us.p99),
      p999: ms(r.latency_us.p999),
      max: ms(r.latency_us.max),
      mean: ms(r.latency_us.mean),
    },
  };
}
