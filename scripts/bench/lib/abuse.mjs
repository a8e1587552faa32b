// The abuse rows' helpers: the abuse mix as a child process (../abuse.mjs)
// and its summary as text, the API's largest event-loop delay read from its
// metrics, and the connection cap the bench gives its API processes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { scrape, sum } from './metrics.mjs';
import { PLACEMENT, pinned } from './processes.mjs';

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Source address of the abuse mix: another loopback peer than the redirect load (127.0.0.1). */
export const ABUSE_SOURCE_ADDRESS = '127.0.0.2';

/** Host of every target the mix sends: the links its bulk creates make are deleted by it afterwards. */
export const ABUSE_TARGET_HOST = 'abuse.bench.example';

/**
 * The abuse mix: concurrent clients of each kind (4 MiB nested-array bodies
 * without a key, slow headers, slow bodies, wrong API keys, bulk creates at
 * the bulk body limit with the admin key), and the wrong keys' rate per
 * second. The smoke run uses a tenth of each.
 */
export const ABUSE_MIX = { nested: 100, slowHeaders: 200, slowBody: 200, wrongKeys: 20, wrongKeysPerSecond: 500, bulk: 2 };

const running = new Set();

/** Kills abuse mixes still running (Ctrl-C, a failed run); they stop by themselves otherwise. */
export function killAbuse() {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Starts the abuse mix against `url` and resolves once it has built its bodies
 * and started. It stops by itself after `seconds`; `stop()` ends it sooner
 * (SIGTERM; SIGKILL after 10 s) and resolves to its summary.
 * @param {object} o
 * @param {string} o.url the API's base URL (loopback)
 * @param {number} o.seconds longest run, seconds
 * @param {string} o.apiKey a valid admin key (bulk creates and slow bodies)
 * @param {number} o.bulkBodyBytes the bulk route's body limit (HTTP_BULK_BODY_LIMIT_BYTES), bytes
 * @param {typeof ABUSE_MIX} o.mix
 * @returns {Promise<{pid: number, ready: {nestedBytes: number, bulkBytes: number}, stop: () => Promise<object>, exited: Promise<void>}>}
 * @throws when the mix exits before it is ready
 */
export function startAbuse(o) {
  const config = JSON.stringify({ ...o, localAddress: ABUSE_SOURCE_ADDRESS, targetHost: ABUSE_TARGET_HOST });
  // On the load generator's CPU: the mix stands for clients on other machines, so it takes no time from the server's core.
  const [cmd, args] = pinned(PLACEMENT.load, process.execPath, [path.join(benchDir, 'abuse.mjs'), config]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', resolve)).then(() => running.delete(child));
  const guard = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 30) * 1000);
  void exited.then(() => clearTimeout(guard));
  const summary = async () => {
    await exited;
    const line = out.split('\n').find((l) => l.startsWith('@@abuse-json '));
    if (!line) throw new Error(`the abuse mix printed no summary (exit ${child.exitCode ?? child.signalCode}):\n${out.slice(-2000)}\n${err.slice(-2000)}`);
    return JSON.parse(line.slice('@@abuse-json '.length));
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    return summary();
  };
  return new Promise((resolve, reject) => {
    const onData = () => {
      const line = out.split('\n').find((l) => l.startsWith('ready '));
      if (!line) return;
      child.stdout.off('data', onData);
      resolve({ pid: child.pid, ready: JSON.parse(line.slice('ready '.length)), stop, exited });
    };
    child.stdout.on('data', onData);
    void exited.then(() => reject(new Error(`the abuse mix exited before it started (${child.exitCode ?? child.signalCode}):\n${err.slice(-2000)}`)));
  });
}

/** prom-client's default metric: the largest event-loop delay since its previous collection (the histogram is reset on each scrape). */
const LAG_MAX = 'nodejs_eventloop_lag_max_seconds';
/** prom-client's default metrics: V8's heap as reserved (`heapTotal`) and memory outside it held by JS objects (`external`, Buffers included). */
const HEAP_TOTAL = 'nodejs_heap_size_total_bytes';
const EXTERNAL = 'nodejs_external_memory_bytes';

/**
 * Largest event-loop delay of a process over a span of time, in seconds, from
 * its `/metrics` (prom-client's `nodejs_eventloop_lag_max_seconds`, which
 * covers the time since the previous scrape), and the largest V8 heap and
 * external memory its scrapes saw, in bytes (where the RSS goes). It scrapes
 * every `intervalMs`; any other scrape of the process in between must be
 * passed to `fold`, since it took its interval's maximum delay with it.
 */
export function eventLoopWatch(port, intervalMs = 500) {
  let max = 0;
  let heapBytes = 0;
  let externalBytes = 0;
  let scrapes = 0;
  let busy = false;
  const fold = (samples) => {
    if (!samples) return;
    scrapes += 1;
    max = Math.max(max, sum(samples, LAG_MAX));
    heapBytes = Math.max(heapBytes, sum(samples, HEAP_TOTAL));
    externalBytes = Math.max(externalBytes, sum(samples, EXTERNAL));
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    scrape(port, { timeoutMs: 5_000 })
      .then(fold, () => undefined)
      .finally(() => (busy = false));
  }, intervalMs);
  return {
    fold,
    /** Scrapes once more (the last interval), returns the maxima so far (delay in seconds, memory in bytes) and starts a new span. */
    async take() {
      await scrape(port, { timeoutMs: 5_000 }).then(fold, () => undefined);
      const result = { seconds: max, heapBytes, externalBytes, scrapes };
      max = 0;
      heapBytes = 0;
      externalBytes = 0;
      scrapes = 0;
      return result;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * HTTP_MAX_CONNECTIONS of the bench's API processes: the app's default of
 * 10,000 unless this process's soft limit on open files (which the children
 * inherit) leaves less, with 1,024 descriptors kept for everything else.
 */
export function maxConnectionsSetting() {
  let soft = Infinity;
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m && m[1] !== 'unlimited') soft = Number(m[1]);
  } catch {
    // Not Linux: the app's default.
  }
  return Math.max(100, Math.min(10_000, soft - 1_024));
}

/** The smoke run's mix: a tenth of each setting, at least one. */
export function smokeMix() {
  return Object.fromEntries(Object.entries(ABUSE_MIX).map(([k, v]) => [k, Math.max(1, Math.round(v / 10))]));
}

/** `100 nested-body clients, ...` for the log. */
export function mixSettingsText(m) {
  return `${m.nested} nested-body clients, ${m.slowHeaders} slow-header and ${m.slowBody} slow-body connections, wrong keys at ${m.wrongKeysPerSecond}/s over ${m.wrongKeys} clients, ${m.bulk} bulk clients`;
}

/**
 * Redirects answered per second in a load run (requests less wrk's `status`
 * errors, the 4xx/5xx answers): load shedding's quick 503s count as requests
 * in wrk's own rate.
 */
export function redirectsPerSecond(load) {
  return (load.requests - (load.errorDetail.status ?? 0)) / load.seconds;
}

/** The summaries of several runs of the mix as one: counts added, the longest hold kept. */
export function mergeAbuseSummaries(summaries) {
  const out = { ...summaries[0], seconds: 0 };
  for (const kind of ['nested', 'slowHeaders', 'slowBody', 'wrongKeys', 'bulk']) {
    const merged = { attempts: 0, answered: {}, cutBeforeAnswer: 0, errors: {}, heldMs: { max: null } };
    for (const s of summaries) {
      const k = s[kind];
      merged.attempts += k.attempts;
      merged.cutBeforeAnswer += k.cutBeforeAnswer;
      for (const [status, n] of Object.entries(k.answered)) merged.answered[status] = (merged.answered[status] ?? 0) + n;
      for (const [code, n] of Object.entries(k.errors)) merged.errors[code] = (merged.errors[code] ?? 0) + n;
      if (k.heldMs.max !== null) merged.heldMs.max = Math.max(merged.heldMs.max ?? 0, k.heldMs.max);
    }
    out[kind] = merged;
  }
  for (const s of summaries) out.seconds += s.seconds;
  return out;
}

/** `401 1,234, 413 5` for a map of status -> count. */
function statusText(answered) {
  const entries = Object.entries(answered);
  return entries.length ? entries.map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ') : 'no answer';
}

/** The mix's summary in a line: per kind, what was sent and how the API answered. */
export function abuseSummaryText(m) {
  const kind = (label, k) => {
    const cut = k.cutBeforeAnswer ? `, ${k.cutBeforeAnswer.toLocaleString('en-US')} closed unanswered` : '';
    const held = k.heldMs.max === null ? '' : `, held up to ${(k.heldMs.max / 1000).toFixed(1)} s`;
    const errors = Object.entries(k.errors)
      .map(([e, n]) => `${e} ${n}`)
      .join(', ');
    return `${label} ${k.attempts.toLocaleString('en-US')} (${statusText(k.answered)}${cut}${held}${errors ? `; ${errors}` : ''})`;
  };
  return [
    kind(`${(m.nestedBytes / 2 ** 20).toFixed(0)} MiB nested bodies without a key:`, m.nested),
    kind('slow headers:', m.slowHeaders),
    kind('slow bodies:', m.slowBody),
    kind('wrong keys:', m.wrongKeys),
    kind(`bulk creates of ${(m.bulkBytes / 2 ** 20).toFixed(2)} MiB (limit ${(m.bulkLimitBytes / 2 ** 20).toFixed(2)} MiB):`, m.bulk),
  ].join('; ');
}
