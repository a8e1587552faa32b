// `npm run bench`: the performance bench (method in docs/benchmarks.md).
//
// Starts everything it measures on loopback: the compiled API and worker as
// child processes on databases of its own (`shortener_bench_<links>`, one per
// scale, seeded with scripts/seed.mjs), a bare Fastify baseline server, and
// an OTLP sink that takes the 1% of traces. Redis is the local server, under
// a key prefix and a BullMQ prefix of this run, deleted at the end. The
// server under test runs on the last CPU and the load generator (wrk) on the
// first, with taskset. Every load run is bounded in time and stops by itself.
//
// Prints one table; every speed has its ratio against the baseline measured
// in the same run. Then checks the issue's targets and exits 1 naming each
// line that falls short (not with --smoke, which only proves the bench works).
//
//   npm run bench                        full run: 10k, 1M and 10M links
//   npm run bench -- --smoke             seconds-long run on tiny data (CI)
//   options: --scales 10k,1m,10m  --duration S  --warmup S  --connections C
//            --repeat N (rounds of the baseline and LRU-hit rows; median reported)
//            --keep-db (keep and reuse the seeded databases)  --no-build
//            --out DIR (results.json and the PNG plot)  --profile DIR (API and worker --cpu-prof)
//            --api-node-flags "..." (Node flags of every API process; default: the chart's
//            api.nodeOptions from charts/shortener/values.yaml, what the pods run with; "" for none)
//            --rows zipf,create,clicks,redis,cold,abuse (only these rows besides the baseline and LRU hits)
//            --abuse-mix nested=100,slowHeaders=200,slowBody=200,wrongKeys=20,wrongKeysPerSecond=500,bulk=2
//            (the abuse row's mix: clients of each kind, the wrong keys' rate)
//            --against <git-ref> (A/B: builds the ref in a temporary worktree and interleaves its
//            LRU-hit rounds with this tree's, at least 5 each; alone it runs only the baseline and
//            those rounds, on 10k links unless --scales or --rows say otherwise)
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chartNodeOptions } from '../node-options.mjs';
import { seed, parseCount } from '../seed.mjs';
import {
  ABUSE_MIX,
  ABUSE_SOURCE_ADDRESS,
  ABUSE_TARGET_HOST,
  abuseSummaryText,
  eventLoopWatch,
  killAbuse,
  maxConnectionsSetting,
  mergeAbuseSummaries,
  mixSettingsText,
  redirectsPerSecond,
  smokeMix,
  startAbuse,
} from './lib/abuse.mjs';
import { formatAgainst, prepareAgainst, sideFigures } from './lib/against.mjs';
import { detectLoadTool, killLoads, runLoad } from './lib/load.mjs';
import { histogramDelta, scrape, sum } from './lib/metrics.mjs';
import { CPUS, PLACEMENT, cpuSeconds, freePort, rssSampler, startChild, stopAll, waitUntil } from './lib/processes.mjs';
import { COLD_PACED_RATE, checkTargets, formatTable, machineInfo, writePlot } from './lib/report.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { Client } = require('pg');
const Redis = require('ioredis');

// ------------------------------------------------------------------ options

/** Rows that `--rows` may select; the baseline and the LRU-hit rows always run (every ratio needs them). */
const OPTIONAL_ROWS = ['zipf', 'create', 'clicks', 'redis', 'cold', 'abuse'];

function parseArgs(argv) {
  const o = { smoke: false, keepDb: false, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--smoke') o.smoke = true;
    else if (a === '--keep-db') o.keepDb = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--scales') o.scales = next().split(',').map(parseCount);
    else if (a === '--duration') o.duration = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--connections') o.connections = Number(next());
    else if (a === '--repeat') o.repeat = Number(next());
    else if (a === '--out') o.out = path.resolve(next());
    else if (a === '--profile') o.profile = path.resolve(next());
    else if (a === '--admin-url') o.adminUrl = next();
    else if (a === '--redis-url') o.redisUrl = next();
    else if (a === '--api-node-flags') o.apiNodeFlags = next().split(/\s+/).filter(Boolean);
    else if (a === '--rows') o.rows = new Set(next().split(',').filter(Boolean));
    else if (a === '--abuse-mix') o.abuseMix = parseAbuseMix(next());
    else if (a === '--against') o.against = next();
    else throw new Error(`unknown option ${a}`);
  }
  if (o.against !== undefined && !o.against) throw new Error('--against takes a git ref, e.g. HEAD~1');
  // --against alone: the baseline and the A/B LRU-hit rounds only, which answer from the process's memory (10k links are plenty).
  o.quickAgainst = o.against !== undefined && o.rows === undefined;
  if (o.quickAgainst) o.rows = new Set();
  o.scales ??= o.smoke ? [2_000] : o.quickAgainst ? [10_000] : [10_000, 1_000_000, 10_000_000];
  if (o.scales.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--scales takes link counts, e.g. 10k,1m,10m');
  o.scales.sort((a, b) => a - b);
  o.rows ??= new Set(OPTIONAL_ROWS);
  // The API runs with the heap the chart gives its pods unless told otherwise.
  o.apiNodeFlagsFrom = o.apiNodeFlags ? '--api-node-flags' : 'chart api.nodeOptions';
  o.apiNodeFlags ??= chartNodeOptions('api').split(/\s+/).filter(Boolean);
  const unknown = [...o.rows].filter((r) => !OPTIONAL_ROWS.includes(r));
  if (unknown.length) throw new Error(`--rows takes ${OPTIONAL_ROWS.join(',')}; unknown: ${unknown.join(',')}`);
  o.duration ??= o.smoke ? 1 : 10;
  o.warmup ??= o.smoke ? 0 : 3;
  o.connections ??= 50;
  o.repeat ??= o.smoke ? 1 : 3;
  // A/B rounds of each side: at least 5 (their medians are compared).
  o.abRounds = Math.max(5, o.repeat);
  o.hot = o.smoke ? 100 : 1_000;
  o.adminUrl ??= process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  o.redisUrl ??= process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  return o;
}

/** `nested=100,bulk=0`: some settings of the abuse mix (the others keep their default). */
function parseAbuseMix(text) {
  const out = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (!(k in ABUSE_MIX) || !/^\d+$/.test(v ?? '')) throw new Error(`--abuse-mix takes ${Object.keys(ABUSE_MIX).join(',')}=<count>; got ${part}`);
    out[k] = Number(v);
  }
  return out;
}

/** `10k`, `1M`, `10M` for a link count. */
export function scaleLabel(n) {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}M`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}

const opts = parseArgs(process.argv.slice(2));
const runId = `${process.pid}${Date.now().toString(36).slice(-4)}`;
const work = mkdtempSync(path.join(os.tmpdir(), 'shortener-bench-'));
const t0 = Date.now();
const log = (m) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

// Fixed secrets: the seed and the apps must agree on the code permutation key.
const SECRETS = {
  CODE_PERMUTATION_KEY: 'bench-code-permutation-key-0123456789',
  CLICK_IP_SALT: 'bench-click-ip-salt-0123456789abcdef',
  API_KEY_PEPPER: 'bench-api-key-pepper-0123456789abcdef',
};
const ADMIN_KEY = 'sk_benchadmin0001_BenchOnlyAdminKeyNotForProduction000001';
const DOMAIN_URL = 'https://bench.example';
/** HTTP_MAX_CONNECTIONS of every API process: set here, under the open-file limit the processes inherit. */
const MAX_CONNECTIONS = maxConnectionsSetting();
/** The bulk route's body limit of the API processes: what the abuse mix's bulk creates fill. */
const BULK_BODY_LIMIT_BYTES = Number(process.env.HTTP_BULK_BODY_LIMIT_BYTES ?? 10 * 1024 * 1024);
const redisPrefix = `bench:${runId}:`;
const queuePrefix = `{bench-${runId}}`;

function databaseUrl(name) {
  const u = new URL(opts.adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function databaseName(links) {
  // Smoke databases are per run (CI may run beside a full bench); full ones are reusable with --keep-db.
  return opts.smoke ? `shortener_bench_smoke_${runId}_${scaleLabel(links).toLowerCase()}` : `shortener_bench_${scaleLabel(links).toLowerCase()}`;
}

// ------------------------------------------------------------------ setup

let distDir;
/** Compiles and snapshots dist/ so that another build in the same tree cannot change the apps mid-run. */
function prepareApps() {
  if (opts.build) {
    log('building');
    const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error('npm run build failed');
  }
  const app = path.join(work, 'app');
  mkdirSync(app);
  cpSync(path.join(root, 'dist'), path.join(app, 'dist'), { recursive: true });
  symlinkSync(path.join(root, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  distDir = path.join(app, 'dist');
}

function appEnv(overrides) {
  const env = { ...process.env };
  // Nothing of the caller's OpenTelemetry or app settings leaks in.
  for (const k of Object.keys(env)) if (k.startsWith('OTEL_') || k.startsWith('CACHE_') || k.startsWith('RATE_LIMIT_')) delete env[k];
  return {
    ...env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'info',
    HTTP_HOST: '127.0.0.1',
    MANAGEMENT_HOST: '127.0.0.1',
    PUBLIC_BASE_URL: DOMAIN_URL,
    REDIS_QUEUE_URL: opts.redisUrl,
    REDIS_CACHE_URL: opts.redisUrl,
    REDIS_KEY_PREFIX: redisPrefix,
    QUEUE_PREFIX: queuePrefix,
    BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    // One client address sends everything here: the per-address limits would refuse it.
    RATE_LIMIT_API_PER_MINUTE: '0',
    RATE_LIMIT_CLIENT_PER_MINUTE: '0',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
    RATE_LIMIT_REDIRECT_PER_SECOND: '0',
    SHUTDOWN_TIMEOUT_MS: '5000',
    HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
    ...SECRETS,
    ...overrides,
  };
}

/** The environment of traced processes: 1% head sampling, OTLP to the local sink. */
function tracingEnv(sinkPort, service) {
  return {
    OTEL_SDK_DISABLED: 'false',
    OTEL_SERVICE_NAME: service,
    OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.01',
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
  };
}

/** A local OTLP/HTTP receiver that accepts and discards trace exports, so nothing leaves the machine. */
function startSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (d) => (stats.bytes += d.length));
    req.on('end', () => {
      stats.requests += 1;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' });
      res.end(req.headers['content-type']?.includes('json') ? '{}' : '');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, stats })));
}

async function adminQuery(sql, params) {
  const c = new Client({ connectionString: opts.adminUrl });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

async function withDb(name, fn) {
  const c = new Client({ connectionString: databaseUrl(name) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function migrate(name) {
  const r = spawnSync(process.execPath, [path.join(distDir, 'libs/database/src/migration/migrate.main.js')], {
    cwd: root,
    env: appEnv({ DATABASE_URL: databaseUrl(name), LOG_LEVEL: 'warn' }),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`migrating ${name} failed:\n${r.stdout}\n${r.stderr}`);
}

/**
 * A database holding exactly `links` seeded links, migrated to the current
 * schema. With --keep-db a database seeded by an earlier run with the same
 * count and key is reused (its seed time is kept from then).
 */
async function ensureSeeded(links) {
  const name = databaseName(links);
  const exists = (await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount > 0;
  if (exists && opts.keepDb && !opts.smoke) {
    const meta = await withDb(name, (c) =>
      c.query(`SELECT links, key, seconds, index_seconds FROM bench_seed`).then(
        (r) => r.rows[0],
        () => undefined,
      ),
    );
    if (meta && Number(meta.links) === links && meta.key === SECRETS.CODE_PERMUTATION_KEY) {
      migrate(name);
      log(`reusing ${name} (${links.toLocaleString('en-US')} links, seeded in ${Math.round(meta.seconds)} s)`);
      return { name, links, seedSeconds: Number(meta.seconds), indexSeconds: Number(meta.index_seconds), reused: true };
    }
  }
  if (exists) await adminQuery(`DROP DATABASE "${name}" WITH (FORCE)`);
  await adminQuery(`CREATE DATABASE "${name}"`);
  migrate(name);
  log(`seeding ${name} with ${links.toLocaleString('en-US')} links`);
  const result = await seed({ links, env: appEnv({ DATABASE_URL: databaseUrl(name) }), distDir, indexes: 'auto', quiet: opts.smoke });
  await withDb(name, async (c) => {
    await c.query(
      `CREATE TABLE bench_seed (links bigint NOT NULL, key text NOT NULL, seconds double precision NOT NULL, index_seconds double precision NOT NULL)`,
    );
    await c.query(`INSERT INTO bench_seed VALUES ($1, $2, $3, $4)`, [links, SECRETS.CODE_PERMUTATION_KEY, result.seconds, result.indexSeconds]);
  });
  return { name, links, seedSeconds: result.seconds, indexSeconds: result.indexSeconds, reused: false };
}

/** A uniform random sample of `want` codes of the database (all of them when it has fewer), shuffled. */
async function sampleCodes(name, want) {
  return withDb(name, async (c) => {
    const total = Number((await c.query(`SELECT count(*) AS n FROM links WHERE domain = $1`, [new URL(DOMAIN_URL).hostname])).rows[0].n);
    const percent = Math.min(100, ((want * 1.2) / Math.max(1, total)) * 100);
    const { rows } = await c.query(`SELECT code FROM links TABLESAMPLE BERNOULLI (${percent}) WHERE domain = $1`, [new URL(DOMAIN_URL).hostname]);
    const codes = rows.map((r) => r.code);
    shuffle(codes);
    return codes.slice(0, want);
  });
}

function shuffle(a) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function writeCodes(file, codes) {
  writeFileSync(file, `${codes.join('\n')}\n`);
  return file;
}

/** `count` uniform picks of `codes`. */
function uniformPicks(codes, count) {
  return Array.from({ length: count }, () => codes[Math.floor(Math.random() * codes.length)]);
}

/** `count` picks of `codes` by rank with Zipf exponent `s` (rank 1 the most requested). */
export function zipfPicks(codes, count, s = 1) {
  const cdf = new Float64Array(codes.length);
  let total = 0;
  for (let k = 0; k < codes.length; k++) cdf[k] = total += 1 / (k + 1) ** s;
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    const u = Math.random() * total;
    let lo = 0;
    let hi = codes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    out[i] = codes[lo];
  }
  return out;
}

// ------------------------------------------------------------------ processes

async function startApi(name, { db, sinkPort, tracing = true, overrides = {}, dist = distDir, cwd = root }) {
  const port = await freePort();
  const managementPort = await freePort();
  const env = appEnv({
    DATABASE_URL: databaseUrl(db),
    HTTP_PORT: String(port),
    MANAGEMENT_PORT: String(managementPort),
    ...(tracing ? tracingEnv(sinkPort, 'shortener-bench-api') : { OTEL_SDK_DISABLED: 'true' }),
    ...overrides,
  });
  const profile = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const handle = startChild(
    name,
    process.execPath,
    [...opts.apiNodeFlags, ...profile, '--require', path.join(dist, 'libs/observability/src/tracing/register.js'), path.join(dist, 'apps/api/src/main.js')],
    {
      env,
      cwd,
      logFile: path.join(work, `${name}.log`),
      cpu: PLACEMENT.server,
    },
  );
  await waitUntil(`${name} to be ready`, async () => (await fetch(`http://127.0.0.1:${managementPort}/health/ready`)).ok, { child: handle, timeoutMs: 90_000 });
  return { handle, url: `http://127.0.0.1:${port}`, managementPort };
}

/**
 * The traced API's sampled share of redirects so far, as a note: its access
 * log has a line for each sampled redirect (and none for the others), its
 * metrics count every redirect. Proves the row traced at the stated ratio.
 */
async function sampledRedirects(server) {
  const served = sum(await scrape(server.managementPort), 'shortener_redirects_total');
  const sampled = server.handle
    .log()
    .split('\n')
    .filter((l) => l.includes('"route":"/:code"') && l.includes('"trace_id"')).length;
  return `${((100 * sampled) / Math.max(1, served)).toFixed(2)}% of redirects sampled (${sampled} of ${served})`;
}

async function startWorker(sinkPort, db) {
  const managementPort = await freePort();
  const env = appEnv({ DATABASE_URL: databaseUrl(db), MANAGEMENT_PORT: String(managementPort), ...tracingEnv(sinkPort, 'shortener-bench-worker') });
  const profile = opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`, '--cpu-prof-name=worker.cpuprofile'] : [];
  const handle = startChild(
    'worker',
    process.execPath,
    [...profile, '--require', path.join(distDir, 'libs/observability/src/tracing/register.js'), path.join(distDir, 'apps/worker/src/main.js')],
    {
      env,
      cwd: root,
      logFile: path.join(work, 'worker.log'),
    },
  );
  await waitUntil('the worker to be ready', async () => (await fetch(`http://127.0.0.1:${managementPort}/health/ready`)).ok, {
    child: handle,
    timeoutMs: 90_000,
  });
  return { handle, managementPort };
}

async function startBaseline(codesFile) {
  const port = await freePort();
  const handle = startChild('baseline', process.execPath, [path.join(root, 'scripts/bench/baseline-server.mjs'), codesFile, String(port)], {
    env: process.env,
    cwd: root,
    logFile: path.join(work, 'baseline.log'),
    cpu: PLACEMENT.server,
  });
  await waitUntil('the baseline server', async () => handle.log().includes('listening'), { child: handle });
  return { handle, url: `http://127.0.0.1:${port}` };
}

// ------------------------------------------------------------------ measuring

const loadTool = detectLoadTool();

/**
 * Warm-up (discarded), then one measured load run with RSS sampling and
 * metric scrapes around it.
 */
async function measure(
  server,
  { kind = 'codes', codesFile, warmFile, warmup = opts.warmup, seconds = opts.duration, connections = opts.connections, rate, watch = [] },
) {
  const base = { tool: loadTool, url: server.url, kind, apiKey: ADMIN_KEY, connections, rate };
  if (warmup > 0) await runLoad({ ...base, codesFile: warmFile ?? codesFile, seconds: warmup });
  const before = server.managementPort ? await scrape(server.managementPort) : null;
  const sampler = rssSampler([server.handle, ...watch]);
  const cpu0 = cpuSeconds(server.handle.pid);
  const load = await runLoad({ ...base, codesFile, seconds });
  const cpu = cpuSeconds(server.handle.pid) - cpu0;
  const rss = sampler.stop();
  const after = server.managementPort ? await scrape(server.managementPort) : null;
  return { load, rss, before, after, cpuUsPerRequest: load.requests > 0 ? (cpu * 1e6) / load.requests : null, cpuShare: cpu / load.seconds };
}

/** Where redirects of a run were answered, from the API's counters: `lru 99.9%` etc. */
function servedFrom(before, after) {
  if (!before) return '';
  const parts = [];
  let total = 0;
  const counts = {};
  for (const layer of ['lru', 'redis', 'db']) {
    counts[layer] =
      sum(after, 'shortener_redirects_total', { outcome: 'redirect', cache: layer }) -
      sum(before, 'shortener_redirects_total', { outcome: 'redirect', cache: layer });
    total += counts[layer];
  }
  for (const layer of ['lru', 'redis', 'db']) if (counts[layer] > 0) parts.push(`${layer} ${((counts[layer] / total) * 100).toFixed(1)}%`);
  const other = sum(after, 'shortener_redirects_total') - sum(before, 'shortener_redirects_total') - total;
  if (other > 0) parts.push(`${other} not redirected`);
  return parts.join(', ');
}

function row(name, m, extra = {}) {
  return {
    name,
    rps: m.load.rps,
    requests: m.load.requests,
    latencyMs: m.load.latencyMs,
    errors: m.load.errors,
    rssMiB: m.rss,
    cpuUsPerRequest: m.cpuUsPerRequest,
    cpuShare: m.cpuShare,
    ...extra,
  };
}

/** Deletes keys matching `pattern` (SCAN, never KEYS). */
async function deleteKeys(redis, pattern) {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

// ------------------------------------------------------------------ abuse

/** An API that exited during the abuse rows. */
class ApiDown extends Error {}

const exitText = (child) => (child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`);
const hasExited = (child) => child.exitCode !== null || child.signalCode !== null;

/**
 * `fn()`, or an {@link ApiDown} as soon as the API process exits: the row
 * then fails at once instead of measuring a dead port to the end.
 */
async function whileAlive(api, fn) {
  const child = api.handle.child;
  let onExit;
  const died = new Promise((_, reject) => {
    onExit = () => reject(new ApiDown(`${api.handle.name} exited (${exitText(child)})`));
    child.once('exit', onExit);
    if (hasExited(child)) onExit();
  });
  try {
    return await Promise.race([fn(), died]);
  } finally {
    child.off('exit', onExit);
  }
}

/**
 * The abuse rows: LRU-hit redirects at full speed and paced at half that
 * rate, on one API process, alone and while the abuse mix
 * (scripts/bench/abuse.mjs, from 127.0.0.2) runs against it: `--repeat`
 * rounds of the full-speed pair (the mix started afresh for each; each row
 * reports its median round), the paced rows once (alone before the first
 * mix, under the mix in the last round, at half the first round's rate
 * alone). Pushes four rows and sets `results.abuse` (the figures the targets
 * check, or the failure when the API exited or stopped answering). Deletes
 * the links the mix's bulk creates made in `db`.
 */
async function abuseRows({ db, sinkPort, codesFile, results }) {
  const ids = await withDb(db.name, async (c) => ({
    links: (await c.query('SELECT coalesce(max(id), 0) AS id FROM links')).rows[0].id,
    audit: (await c.query('SELECT coalesce(max(id), 0) AS id FROM link_audit')).rows[0].id,
  }));
  const settings = { ...(opts.smoke ? smokeMix() : ABUSE_MIX), ...opts.abuseMix };
  const abuse = { settings, failure: null };
  results.abuse = abuse;
  const api = await startApi('api-abuse', { db: db.name, sinkPort });
  const lag = eventLoopWatch(api.managementPort);
  // Time for the slow connections to open and the first large bodies to arrive before the measured runs.
  const settle = opts.smoke ? 1 : 3;
  const off = { runs: [], lagSeconds: 0, rssMiB: 0 };
  const on = { runs: [], lagSeconds: 0, rssMiB: 0, heapBytes: 0, externalBytes: 0, scrapes: 0, summaries: [], cpuSeconds: 0, seconds: 0 };
  const measured = (m) => {
    lag.fold(m.before);
    lag.fold(m.after);
    return m;
  };
  const rss = (sampler) => sampler.stop()['api-abuse'] ?? 0;
  const median = (runs) => [...runs].sort((x, y) => redirectsPerSecond(x.load) - redirectsPerSecond(y.load))[Math.floor((runs.length - 1) / 2)];
  const spread = (runs) =>
    runs.length > 1 ? `median of ${runs.length}: ${runs.map((r) => Math.round(redirectsPerSecond(r.load))).join(', ')} redirects/s` : '';
  const ms = (seconds) => `${(seconds * 1000).toFixed(0)} ms`;
  const mib = (bytes) => Math.round(bytes / 1024 / 1024);
  let child = null;
  let sampler = null;
  let phase = 'before the first round';
  let offPaced;
  let onPaced;
  let pacedRate;
  /** The rows alone from the rounds measured so far (all of them, or those before a failure); false when there are none. */
  const pushOffRows = () => {
    if (off.runs.length === 0) return false;
    const offRun = median(off.runs);
    abuse.off = { rps: redirectsPerSecond(offRun.load), pacedP99: offPaced?.load.latencyMs.p99 ?? null, lagSeconds: off.lagSeconds, rssMiB: off.rssMiB };
    results.rows.push(
      row('abuse: redirect, LRU hit, without the mix', offRun, {
        key: 'abuse-off',
        rps: abuse.off.rps,
        rssMiB: { 'api-abuse': off.rssMiB },
        links: db.links,
        served: servedFrom(offRun.before, offRun.after),
        note: [spread(off.runs), `largest event-loop delay ${ms(off.lagSeconds)}, RSS ${Math.round(off.rssMiB)} MiB at most before the first mix`]
          .filter(Boolean)
          .join('; '),
      }),
    );
    if (offPaced) {
      results.rows.push(
        row('abuse: redirect, LRU hit, paced at half that rate, without the mix', offPaced, {
          key: 'abuse-off-paced',
          rps: redirectsPerSecond(offPaced.load),
          links: db.links,
          served: servedFrom(offPaced.before, offPaced.after),
          note: `offered ${Math.round(offPaced.load.rps)}/s of ${pacedRate}/s scheduled`,
        }),
      );
    }
    return true;
  };
  const started = Date.now();
  try {
    for (let round = 1; round <= opts.repeat; round++) {
      const last = round === opts.repeat;
      phase = `without the mix, round ${round}`;
      await lag.take();
      sampler = rssSampler([api.handle]);
      off.runs.push(measured(await whileAlive(api, () => measure(api, { codesFile }))));
      if (round === 1) {
        pacedRate = Math.round(redirectsPerSecond(off.runs[0].load) / 2);
        offPaced = measured(await whileAlive(api, () => measure(api, { codesFile, rate: pacedRate })));
      }
      // Alone means before any mix: later rounds start with what the mix left in the heap.
      const offLag = (await lag.take()).seconds;
      const offRss = rss(sampler);
      if (round === 1) Object.assign(off, { lagSeconds: offLag, rssMiB: offRss });

      phase = `under the mix, round ${round}`;
      sampler = rssSampler([api.handle]);
      const seconds = settle + (last ? 2 : 1) * (opts.warmup + opts.duration) + 30;
      child = await startAbuse({ url: api.url, seconds, apiKey: ADMIN_KEY, bulkBodyBytes: BULK_BODY_LIMIT_BYTES, mix: settings });
      const cpu0 = cpuSeconds(child.pid);
      const mixStarted = Date.now();
      if (round === 1)
        log(`abuse mix from ${ABUSE_SOURCE_ADDRESS}: ${mixSettingsText(settings)}; bulk body ${child.ready.bulkBytes.toLocaleString('en-US')} bytes`);
      await whileAlive(api, () => sleep(settle * 1000));
      on.runs.push(measured(await whileAlive(api, () => measure(api, { codesFile }))));
      if (last) onPaced = measured(await whileAlive(api, () => measure(api, { codesFile, rate: pacedRate })));
      const taken = await lag.take();
      on.lagSeconds = Math.max(on.lagSeconds, taken.seconds);
      on.scrapes += taken.scrapes;
      on.heapBytes = Math.max(on.heapBytes, taken.heapBytes);
      on.externalBytes = Math.max(on.externalBytes, taken.externalBytes);
      on.cpuSeconds += cpuSeconds(child.pid) - cpu0;
      on.seconds += (Date.now() - mixStarted) / 1000;
      on.summaries.push(await child.stop());
      child = null;
      on.rssMiB = Math.max(on.rssMiB, rss(sampler));
      sampler = null;
      if (hasExited(api.handle.child)) throw new ApiDown(`${api.handle.name} exited (${exitText(api.handle.child)})`);
      // The mix's connections closing are not part of the next round alone.
      if (!last) await whileAlive(api, () => sleep(2_000));
    }

    const onRun = median(on.runs);
    const summary = mergeAbuseSummaries(on.summaries);
    abuse.on = { rps: redirectsPerSecond(onRun.load), pacedP99: onPaced.load.latencyMs.p99, lagSeconds: on.lagSeconds, rssMiB: on.rssMiB };
    abuse.summary = summary;
    abuse.mixCpuShare = on.cpuSeconds / on.seconds;
    pushOffRows();
    results.rows.push(
      row('abuse: redirect, LRU hit, under the mix', onRun, {
        key: 'abuse-on',
        rps: abuse.on.rps,
        rssMiB: { 'api-abuse': on.rssMiB },
        links: db.links,
        served: servedFrom(onRun.before, onRun.after),
        note: [
          `${((abuse.on.rps / abuse.off.rps) * 100).toFixed(0)}% of the rate without`,
          spread(on.runs),
          `largest event-loop delay ${ms(on.lagSeconds)} under the mix (${on.scrapes} scrapes)`,
          `API RSS ${Math.round(on.rssMiB)} MiB at most (${Math.round(abuse.off.rssMiB)} MiB before the first mix), V8 heap ${mib(on.heapBytes)} MiB and external memory ${mib(on.externalBytes)} MiB at most`,
        ]
          .filter(Boolean)
          .join('; '),
      }),
      row('abuse: redirect, LRU hit, paced at half that rate, under the mix', onPaced, {
        key: 'abuse-on-paced',
        rps: redirectsPerSecond(onPaced.load),
        links: db.links,
        served: servedFrom(onPaced.before, onPaced.after),
        note: `offered ${Math.round(onPaced.load.rps)}/s of ${pacedRate}/s scheduled; the mix from ${ABUSE_SOURCE_ADDRESS}, ${Math.round(summary.seconds)} s in ${on.summaries.length} round(s), ${Math.round(abuse.mixCpuShare * 100)}% of the load CPU: ${abuseSummaryText(summary)}`,
      }),
    );
  } catch (error) {
    // Reported as the rows' failure: the other rows' figures are still printed and checked.
    killLoads();
    const summary = child ? await child.stop().catch(() => null) : null;
    child = null;
    if (summary) on.summaries.push(summary);
    const down = error instanceof ApiDown || hasExited(api.handle.child);
    // A crash's own lines (a stack, V8's fatal error), not the access log's.
    const logTail = api.handle
      .log()
      .trim()
      .split('\n')
      .filter((l) => !/"msg":"request (completed|failed)"/.test(l))
      .slice(-4)
      .join(' | ')
      .slice(-800);
    abuse.failure = `${down ? 'the API died' : 'the run failed'} ${phase}, ${((Date.now() - started) / 1000).toFixed(1)} s into the abuse rows: ${error.message}; end of the API's log: ${logTail}`;
    if (on.summaries.length) abuse.summary = mergeAbuseSummaries(on.summaries);
    log(`abuse: ${abuse.failure}`);
    const failed = (key, name) => ({
      key,
      name,
      links: db.links,
      rps: 0,
      note: `FAILED: ${abuse.failure}${abuse.summary ? `; the mix: ${abuseSummaryText(abuse.summary)}` : ''}`,
    });
    if (!pushOffRows()) results.rows.push(failed('abuse-off', 'abuse: redirect, LRU hit, without the mix'));
    results.rows.push(failed('abuse-on', 'abuse: redirect, LRU hit, under the mix'));
  } finally {
    lag.stop();
    sampler?.stop();
    if (child) await child.stop().catch(() => undefined);
    await api.handle.stop();
    // The bulk creates' links and their audit records (this run's only: ids above those before it).
    await withDb(db.name, async (c) => {
      const like = `https://${ABUSE_TARGET_HOST}/%`;
      await c.query(`DELETE FROM link_audit WHERE id > $1 AND link_id IN (SELECT id FROM links WHERE id > $2 AND target LIKE $3)`, [
        ids.audit,
        ids.links,
        like,
      ]);
      const { rowCount } = await c.query(`DELETE FROM links WHERE id > $1 AND target LIKE $2`, [ids.links, like]);
      if (rowCount) log(`abuse: deleted the ${rowCount.toLocaleString('en-US')} links the bulk creates made`);
    }).catch((e) => log(`abuse: could not delete the bulk creates' links: ${e.message}`));
  }
}

// ------------------------------------------------------------------ the run

async function main() {
  const started = Date.now();
  log(
    `run ${runId} in ${work}: ${opts.smoke ? 'smoke' : 'full'}${opts.against !== undefined ? `, A/B against ${opts.against}${opts.quickAgainst ? ' (baseline and LRU hits only)' : ''}` : ''}, scales ${opts.scales.map(scaleLabel).join(', ')}, ${opts.duration} s per row, ${opts.connections} connections, load tool ${loadTool}, ${CPUS} CPUs (server on ${PLACEMENT.server ?? 'any'}, load on ${PLACEMENT.load ?? 'any'})`,
  );
  if (opts.profile) mkdirSync(opts.profile, { recursive: true });
  prepareApps();
  const sink = await startSink();
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  const machine = {
    ...machineInfo(),
    postgres: (await adminQuery('SHOW server_version')).rows[0].server_version,
    redis: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1],
  };
  const results = {
    runId,
    startedAt: new Date(started).toISOString(),
    smoke: opts.smoke,
    loadTool,
    machine,
    loadAverageAtStart: os.loadavg()[0],
    settings: {
      duration: opts.duration,
      warmup: opts.warmup,
      repeat: opts.repeat,
      connections: opts.connections,
      placement: PLACEMENT,
      apiNodeFlags: opts.apiNodeFlags,
      apiNodeFlagsFrom: opts.apiNodeFlagsFrom,
      heapGrowingPercent: process.env.V8_HEAP_GROWING_PERCENT ?? null,
      maxConnections: MAX_CONNECTIONS,
    },
    seeds: [],
    rows: [],
  };
  const databases = [];
  let against = null;
  try {
    if (opts.against !== undefined) {
      // Before seeding: a ref the bench refuses (other migrations) costs nothing.
      against = await prepareAgainst({ root, ref: opts.against, dir: path.join(work, 'against'), log });
    }
    for (const links of opts.scales) databases.push(await ensureSeeded(links));
    results.seeds = databases.map(({ links, seedSeconds, indexSeconds, reused }) => ({ links, seedSeconds, indexSeconds, reused }));
    const main = databases[databases.length - 1];

    const sample = await sampleCodes(main.name, Math.min(main.links, opts.smoke ? 2_000 : 1_000_000));
    const hot = sample.slice(0, Math.min(opts.hot, sample.length));
    const picks = opts.smoke ? 20_000 : 400_000;
    const hotFile = writeCodes(path.join(work, 'hot.txt'), hot);
    const hotPicks = writeCodes(path.join(work, 'hot-picks.txt'), uniformPicks(hot, picks));
    const zipfWarm = writeCodes(path.join(work, 'zipf-warm.txt'), zipfPicks(sample, picks));
    const zipf = writeCodes(path.join(work, 'zipf.txt'), zipfPicks(sample, picks));

    // 1-3. The baseline and LRU hits with tracing off and on (1%, metrics,
    // clicks): the three processes run side by side (only the one under load
    // works), measured in turns with the order rotated, `--repeat` times; each
    // row reports its median run, so drift in the machine's other load falls
    // on all three alike.
    // With --against, the other ref's API runs beside this tree's (same database, settings and
    // flags) and every round measures both sides' LRU hits, the order alternating (A B, B A, ...) so that
    // whatever favours the first or the second run of a pair falls on both sides alike.
    const rounds = against ? opts.abRounds : opts.repeat;
    log(`baseline and LRU hits, ${rounds} rounds${against ? `, A/B against ${against.ref} (${against.short})` : ''}`);
    const baseline = await startBaseline(hotFile);
    const plain = opts.quickAgainst ? null : await startApi('api-untraced', { db: main.name, tracing: false });
    const api = await startApi('api', { db: main.name, sinkPort: sink.port });
    const other = against ? await startApi('api-against', { db: main.name, sinkPort: sink.port, dist: against.distDir, cwd: against.dir }) : null;
    const contenders = [
      { key: 'baseline', server: baseline, runs: [] },
      ...(plain ? [{ key: 'lru-untraced', server: plain, runs: [] }] : []),
      { key: 'lru', server: api, runs: [] },
    ];
    const runsOf = (key) => contenders.find((c) => c.key === key).runs;
    const otherRuns = [];
    // Without --against all three rotate; with it the A/B pair keeps its order after the others.
    const rotating = contenders.filter((c) => !against || c.key !== 'lru');
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < rotating.length; i++) {
        const c = rotating[(i + round) % rotating.length];
        c.runs.push(await measure(c.server, { codesFile: hotPicks }));
      }
      if (against) {
        const pair = [
          { server: api, runs: runsOf('lru') },
          { server: other, runs: otherRuns },
        ];
        for (const side of round % 2 === 0 ? pair : pair.reverse()) side.runs.push(await measure(side.server, { codesFile: hotPicks }));
      }
    }
    const median = (runs) => [...runs].sort((x, y) => x.load.rps - y.load.rps)[Math.floor((runs.length - 1) / 2)];
    const spread = (runs) => (runs.length > 1 ? `median of ${runs.length}: ${runs.map((r) => Math.round(r.load.rps)).join(', ')} req/s` : '');
    await baseline.handle.stop();
    await plain?.handle.stop();
    if (other) {
      await other.handle.stop();
      const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim();
      const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).stdout.trim() !== '';
      const sides = [
        { label: 'A: this tree', ref: `${dirty ? 'working tree on' : 'HEAD'} ${head}`, figures: sideFigures(runsOf('lru')) },
        { label: 'B: --against', ref: `${against.ref} ${against.short}`, figures: sideFigures(otherRuns) },
      ];
      results.against = { ref: against.ref, sha: against.sha, sides, ...formatAgainst(sides, { seconds: opts.duration, warmup: opts.warmup }) };
    }
    const bRuns = runsOf('baseline');
    const lruRuns = runsOf('lru');
    results.rows.push(row('baseline: bare Fastify, Map, 302', median(bRuns), { key: 'baseline', links: hot.length, note: spread(bRuns) }));
    if (plain) {
      const offRuns = runsOf('lru-untraced');
      const off = median(offRuns);
      results.rows.push(
        row('redirect, LRU hit, tracing off', off, {
          key: 'lru-untraced',
          links: main.links,
          served: servedFrom(off.before, off.after),
          note: spread(offRuns),
        }),
      );
    }
    const lru = median(lruRuns);
    const lruRow = row('redirect, LRU hit', lru, { key: 'lru', links: main.links, served: servedFrom(lru.before, lru.after), note: spread(lruRuns) });
    results.rows.push(lruRow);
    const untraced = results.rows.find((r) => r.key === 'lru-untraced');
    if (untraced) {
      const sampling = await sampledRedirects(api);
      results.rows.push({
        key: 'tracing',
        name: 'tracing overhead: on at 1% / off',
        links: main.links,
        rps: null,
        ratio: lruRow.rps / untraced.rps,
        note: `throughput on/off ${(lruRow.rps / untraced.rps).toFixed(2)}; CPU per request ${Math.round(untraced.cpuUsPerRequest)} us off, ${Math.round(lruRow.cpuUsPerRequest)} us on (${lruRow.cpuUsPerRequest >= untraced.cpuUsPerRequest ? '+' : ''}${Math.round(lruRow.cpuUsPerRequest - untraced.cpuUsPerRequest)} us); ${sampling}`,
      });
    }
    // 3b. The full API's latency at a stated load below its capacity, the
    // same 50 connections at half the rate it reached above (wrk on a
    // schedule, codes.lua): at full speed a closed-loop p99 is mostly queueing
    // behind the other connections' requests (mean = connections / rate) and
    // every pause of the process; paced, it is the redirect's own latency.
    // Half the LRU-hit rate: the paced row's and the click row's offered rate.
    const halfLruRate = lruRow.rps / 2;
    const pacedRate = Math.round(halfLruRate);
    // --against alone: the baseline and the A/B rounds only.
    if (!opts.quickAgainst) {
      const paced = await measure(api, { codesFile: hotPicks, rate: pacedRate });
      results.rows.push(
        row('redirect, LRU hit, paced at half that rate', paced, {
          key: 'lru-paced',
          links: main.links,
          served: servedFrom(paced.before, paced.after),
          note: `offered ${Math.round(paced.load.rps)}/s of ${pacedRate}/s scheduled`,
        }),
      );
    }

    if (opts.rows.has('zipf')) {
      log('redirect, Zipf');
      const z = await measure(api, { codesFile: zipf, warmFile: zipfWarm });
      results.rows.push(
        row(`redirect, Zipf s=1 over ${scaleLabel(sample.length)} codes`, z, { key: 'zipf', links: main.links, served: servedFrom(z.before, z.after) }),
      );
    }

    if (opts.rows.has('create')) {
      log('creates');
      const cr = await measure(api, { kind: 'create' });
      const created = sum(cr.after, 'shortener_links_created_total') - sum(cr.before, 'shortener_links_created_total');
      results.rows.push(row('create: single POST /api/v1/links', cr, { key: 'create', links: main.links, note: `${created} created` }));
    }

    if (opts.rows.has('clicks')) {
      // 4. Click ingest at a fixed offered rate: half the LRU-hit rate. The
      // max-rate rows above published more clicks than a worker sharing two
      // cores can commit; that backlog is deleted unprocessed so that it does
      // not count as lag here (their capture cost is already in their figures).
      log('click ingest');
      // Every click the API has buffered is published (or dropped) first: one
      // published after the deletion would be committed here without having
      // been served here. The settle time lets requests the previous row's wrk
      // sent before it exited be served (and their clicks buffered) first: a
      // CI smoke run counted 13 such clicks as committed in this row.
      await sleep(500);
      await waitUntil(
        "the API's buffered clicks to be published",
        async () => {
          const s = await scrape(api.managementPort);
          return sum(s, 'shortener_clicks_buffered') === 0;
        },
        { child: api.handle, timeoutMs: 60_000, intervalMs: 100 },
      );
      await deleteKeys(redis, `${queuePrefix}:clicks:*`);
      const worker = await startWorker(sink.port, main.name);
      const wanted = halfLruRate;
      // Enough connections that responses up to 100 ms slow never hold the schedule up.
      const connections = Math.min(1_000, Math.max(opts.connections, Math.ceil(wanted / 10)));
      const apiBefore = await scrape(api.managementPort);
      const workerBefore = await scrape(worker.managementPort);
      const sampler = rssSampler([api.handle, worker.handle]);
      const workerCpu0 = cpuSeconds(worker.handle.pid);
      const ingestLoad = await runLoad({ tool: loadTool, url: api.url, kind: 'codes', codesFile: hotPicks, connections, rate: wanted, seconds: opts.duration });
      const workerAtEnd = await scrape(worker.managementPort);
      const served = () =>
        scrape(api.managementPort).then(
          (s) => sum(s, 'shortener_redirects_total', { outcome: 'redirect' }) - sum(apiBefore, 'shortener_redirects_total', { outcome: 'redirect' }),
        );
      const committed = () =>
        scrape(worker.managementPort).then((s) => sum(s, 'shortener_clicks_committed_total') - sum(workerBefore, 'shortener_clicks_committed_total'));
      // Requests wrk sent just before it exited may still be being served: count them too.
      await sleep(500);
      const servedCount = await served();
      const drainStarted = Date.now();
      await waitUntil('every click to be committed', async () => (await committed()) >= servedCount, {
        timeoutMs: opts.smoke ? 30_000 : 120_000,
        intervalMs: 250,
      }).catch((e) => log(e.message));
      const drainSeconds = (Date.now() - drainStarted) / 1000;
      const workerCpu = cpuSeconds(worker.handle.pid) - workerCpu0;
      const rssIngest = sampler.stop();
      const apiAfter = await scrape(api.managementPort);
      const workerAfter = await scrape(worker.managementPort);
      const committedCount = sum(workerAfter, 'shortener_clicks_committed_total') - sum(workerBefore, 'shortener_clicks_committed_total');
      const dropped = sum(apiAfter, 'shortener_clicks_dropped_total') - sum(apiBefore, 'shortener_clicks_dropped_total');
      const lag = histogramDelta(workerBefore, workerAfter, 'shortener_click_ingest_lag_seconds', 0.99);
      const committedInWindow = sum(workerAtEnd, 'shortener_clicks_committed_total') - sum(workerBefore, 'shortener_clicks_committed_total');
      results.rows.push({
        key: 'clicks',
        name: 'click ingest at half the LRU-hit rate',
        links: main.links,
        rps: committedCount / ingestLoad.seconds,
        offeredRps: ingestLoad.rps,
        wantedRps: wanted,
        latencyMs: ingestLoad.latencyMs,
        errors: ingestLoad.errors,
        rssMiB: rssIngest,
        clicks: {
          served: servedCount,
          committed: committedCount,
          committedInWindow,
          dropped,
          lost: servedCount - committedCount,
          drainSeconds,
          lagP99: lag.value,
          lagP99Bound: lag.bound,
          lagWithin5s: lag.fractionWithin(5),
          lagCount: lag.count,
          workerCpuSeconds: workerCpu,
        },
        note: `offered ${Math.round(ingestLoad.rps)}/s of ${Math.round(wanted)}/s scheduled (${connections} conn); ${servedCount} served, ${committedCount} committed, ${dropped} dropped; worker ${committedCount ? Math.round((workerCpu * 1e6) / committedCount) : '-'} us CPU/click; lag p99 ${lag.value === null ? 'n/a' : `${lag.value.toFixed(2)} s`}`,
      });
      await worker.handle.stop();
    }
    await api.handle.stop();

    // 5. Cache-Redis hits: the LRU off.
    if (opts.rows.has('redis')) {
      log('redirect, Redis hit');
      const lruOff = await startApi('api-lru-off', { db: main.name, sinkPort: sink.port, overrides: { CACHE_LRU_MAX_ENTRIES: '0' } });
      const rh = await measure(lruOff, { codesFile: hotPicks });
      // The same load while a transaction holds ACCESS EXCLUSIVE on links (a migration gone wrong, a
      // stalled VACUUM FULL): lookups Redis answers must not wait behind the ones that need PostgreSQL.
      log('redirect, Redis hit, links locked');
      const lock = new Client({ connectionString: databaseUrl(main.name), application_name: 'bench-lock' });
      await lock.connect();
      let locked;
      try {
        await lock.query('BEGIN');
        await lock.query('LOCK TABLE links IN ACCESS EXCLUSIVE MODE');
        locked = await measure(lruOff, { codesFile: hotPicks, warmup: 0 });
      } finally {
        await lock.query('ROLLBACK').catch(() => undefined);
        await lock.end();
      }
      await lruOff.handle.stop();
      results.rows.push(row('redirect, cache-Redis hit (LRU off)', rh, { key: 'redis', links: main.links, served: servedFrom(rh.before, rh.after) }));
      results.rows.push(
        row('redirect, cache-Redis hit (LRU off), links locked', locked, {
          key: 'redis-locked',
          links: main.links,
          served: servedFrom(locked.before, locked.after),
          note: `links held under ACCESS EXCLUSIVE for the whole row; p99 ${locked.load.latencyMs.p99.toFixed(2)} ms vs ${rh.load.latencyMs.p99.toFixed(2)} ms unlocked; ${locked.load.errors} errors`,
        }),
      );
    }

    // 6. Cold: every scale, both caches missing (LRU off; Redis entries live
    // 1 s and every code of the run is new, or last asked for over 1 s ago):
    // at full speed, then paced at the cold-throughput target's rate. At full
    // speed the latency is the 50 connections queueing (mean = connections /
    // rate), so it mostly restates the throughput; paced at one rate for
    // every scale, it is the latency of a cold lookup at a stated load, which
    // is what the latency targets compare.
    for (const db of opts.rows.has('cold') ? databases : []) {
      log(`redirect, cold, ${scaleLabel(db.links)} links`);
      const codes = await sampleCodes(db.name, Math.min(db.links, opts.smoke ? 3_000 : 600_000));
      // Large scales: a third each for the warm-up, the full-speed row and the paced row, so no row meets a code another warmed.
      const third = Math.floor(codes.length / 3);
      const part = (i) => (db.links > 100_000 ? codes.slice(i * third, (i + 1) * third) : codes);
      const warmFile = writeCodes(path.join(work, `cold-warm-${db.links}.txt`), part(0));
      const coldFile = writeCodes(path.join(work, `cold-${db.links}.txt`), part(1));
      const pacedFile = writeCodes(path.join(work, `cold-paced-${db.links}.txt`), part(2));
      // The rows before wrote to the largest database only (creates, click rollups and counters):
      // written out now, not by this row's own buffer evictions at that scale alone.
      await withDb(db.name, (c) => c.query('CHECKPOINT'));
      const cold = await startApi(`api-cold-${scaleLabel(db.links)}`, {
        db: db.name,
        sinkPort: sink.port,
        // Its own queue: nothing consumes these clicks (they would count against the main database's links).
        overrides: { CACHE_LRU_MAX_ENTRIES: '0', CACHE_REDIS_TTL_SECONDS: '1', QUEUE_PREFIX: `{bench-${runId}-cold}` },
      });
      if (opts.warmup > 0) {
        await runLoad({ tool: loadTool, url: cold.url, kind: 'codes', codesFile: warmFile, connections: opts.connections, seconds: opts.warmup });
        await sleep(1_200);
      }
      await deleteKeys(redis, `${redisPrefix}link:*`);
      // Warmed up above, on other codes: warming on these would fill Redis with them.
      const c = await measure(cold, { codesFile: coldFile, warmup: 0 });
      results.rows.push(
        row(`redirect, cold (PostgreSQL), ${scaleLabel(db.links)} links`, c, {
          key: `cold-${db.links}`,
          links: db.links,
          served: servedFrom(c.before, c.after),
        }),
      );
      // Every Redis entry of the full-speed row has expired by then.
      await sleep(1_200);
      // `--repeat` times as long as a row: its latencies are a few ms or less, and a 10 s window's
      // p99 turned on whether a major GC fell into it (2.8-5.8 ms at one scale in two runs).
      const cp = await measure(cold, { codesFile: pacedFile, warmup: 0, rate: COLD_PACED_RATE, seconds: opts.duration * opts.repeat });
      await cold.handle.stop();
      results.rows.push(
        row(`redirect, cold, paced at ${COLD_PACED_RATE.toLocaleString('en-US')}/s, ${scaleLabel(db.links)} links`, cp, {
          key: `cold-paced-${db.links}`,
          links: db.links,
          served: servedFrom(cp.before, cp.after),
          note: `offered ${Math.round(cp.load.rps)}/s of ${COLD_PACED_RATE.toLocaleString('en-US')}/s scheduled, ${Math.round(cp.load.seconds)} s`,
        }),
      );
    }

    // 7. Abuse: LRU hits alone, then under the abuse mix, on one API process.
    if (opts.rows.has('abuse')) {
      log('abuse: LRU hits without and under the abuse mix');
      await abuseRows({ db: main, sinkPort: sink.port, codesFile: hotPicks, results });
    }

    const baselineRps = results.rows[0].rps;
    for (const r of results.rows) if (r.rps !== null && r.ratio === undefined) r.ratio = r.rps / baselineRps;
    results.sink = sink.stats;
    results.loadAverageAtEnd = os.loadavg()[0];
    results.seconds = (Date.now() - started) / 1000;

    process.stdout.write(`\n${formatTable(results)}\n`);
    if (results.against) process.stdout.write(`\n${results.against.text}\n`);
    if (opts.out) {
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(path.join(opts.out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
      const png = writePlot(results, opts.out, work);
      if (png) log(`plot: ${png}`);
    }
    if (opts.smoke) return 0;
    const checks = checkTargets(results, opts.scales);
    process.stdout.write(`\n${checks.text}\n`);
    return checks.failed.length > 0 ? 1 : 0;
  } finally {
    killAbuse();
    await stopAll();
    sink.server.close();
    await deleteKeys(redis, `${redisPrefix}*`).catch(() => undefined);
    await deleteKeys(redis, `{bench-${runId}*`).catch(() => undefined);
    redis.disconnect();
    if (opts.smoke || !opts.keepDb) {
      for (const links of opts.scales)
        await adminQuery(`DROP DATABASE IF EXISTS "${databaseName(links)}" WITH (FORCE)`).catch((e) =>
          log(`could not drop ${databaseName(links)}: ${e.message}`),
        );
    }
    // The worktree lives in the work directory: removed through git first (its admin entry too).
    against?.remove();
    if (!process.env.BENCH_KEEP_WORKDIR) rmSync(work, { recursive: true, force: true });
  }
}

// Ctrl-C: stop the children and the load generator; the run then fails and
// its finally block deletes what it made.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    killLoads();
    killAbuse();
    void stopAll();
    setTimeout(() => process.exit(130), 30_000).unref();
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
    process.exit(2);
  },
);
