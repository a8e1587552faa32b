// `npm run observability:up [-- --interval 1 --port 9090]`: Prometheus with the
// project's rules, scraping the API (127.0.0.1:9464) and the worker
// (127.0.0.1:9465), plus the PostgreSQL and Redis exporters when their Debian
// packages are installed; everything keeps running in the background.
// `npm run observability:down` stops what `up` started (by the pids it saved).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_TARGETS, type ScrapeTarget, ensurePrometheus, hasCommand, isAlive, pollUntil, startPrometheus, stopPid } from './prometheus';

interface Exporter {
  command: string;
  job: string;
  listen: string;
  args: string[];
  env: Record<string, string>;
}

/** The exporters of the Debian packages prometheus-postgres-exporter and prometheus-redis-exporter, pointed at the app's databases. */
function exporters(): Exporter[] {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable';
  const redisUrl = process.env.REDIS_QUEUE_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return [
    {
      command: 'prometheus-postgres-exporter',
      job: 'postgres',
      listen: '127.0.0.1:9187',
      args: ['--web.listen-address=127.0.0.1:9187'],
      env: { DATA_SOURCE_NAME: databaseUrl },
    },
    {
      command: 'prometheus-redis-exporter',
      job: 'redis',
      listen: '127.0.0.1:9121',
      args: ['-web.listen-address=127.0.0.1:9121', `-redis.addr=${redisUrl}`],
      env: {},
    },
  ];
}

function option(argv: readonly string[], name: string, env: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const raw = i >= 0 ? argv[i + 1] : process.env[env];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} (or ${env}) must be a positive integer, got ${raw}`);
  return n;
}

const stateDir = () => process.env.OBSERVABILITY_DIR ?? join(tmpdir(), 'shortener-observability');
const pidFile = () => join(stateDir(), 'pids.json');

async function up(argv: readonly string[]): Promise<void> {
  const log = (line: string) => {
    console.log(`observability: ${line}`);
  };
  const dir = stateDir();
  if (existsSync(pidFile())) {
    const running = (JSON.parse(readFileSync(pidFile(), 'utf8')) as { pid: number }[]).filter((p) => isAlive(p.pid));
    if (running.length > 0) throw new Error(`already running (pids ${running.map((p) => p.pid).join(', ')}): npm run observability:down first`);
  }
  ensurePrometheus(log);
  mkdirSync(dir, { recursive: true });
  const port = option(argv, 'port', 'PROMETHEUS_PORT', 9090);
  const intervalSeconds = option(argv, 'interval', 'SCRAPE_INTERVAL_SECONDS', 15);
  const started: { name: string; pid: number }[] = [];
  const targets: ScrapeTarget[] = [...APP_TARGETS];
  try {
    for (const e of exporters().filter((x) => hasCommand(x.command))) {
      const out = openSync(join(dir, `${e.job}-exporter.log`), 'a');
      const child = spawn(e.command, e.args, { detached: true, stdio: ['ignore', out, out], env: { ...process.env, ...e.env } });
      child.unref();
      started.push({ name: e.command, pid: child.pid! });
      await pollUntil(`${e.command} on ${e.listen}`, async () => (await fetch(`http://${e.listen}/metrics`)).ok, 15_000);
      targets.push({ job: e.job, target: e.listen });
      log(`${e.command} on http://${e.listen}/metrics`);
    }
    const prom = await startPrometheus({ dir, port, intervalSeconds, targets, detached: true });
    started.push({ name: 'prometheus', pid: prom.pid });
    log(`Prometheus on ${prom.url} (scrape and evaluation every ${intervalSeconds} s), data and logs in ${dir}`);
    log(`scraping ${targets.map((t) => `${t.job}=${t.target}`).join(', ')}`);
  } finally {
    writeFileSync(pidFile(), `${JSON.stringify(started.map(({ name, pid }) => ({ name, pid })))}\n`);
  }
}

async function down(): Promise<void> {
  if (!existsSync(pidFile())) {
    console.log('observability: nothing to stop');
    return;
  }
  for (const { name, pid } of JSON.parse(readFileSync(pidFile(), 'utf8')) as { name: string; pid: number }[]) {
    await stopPid(pid, name);
    console.log(`observability: stopped ${name} (pid ${pid})`);
  }
  rmSync(pidFile());
}

/** `up [--interval SECONDS] [--port PORT]` or `down`. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'up') return up(rest);
  if (command === 'down') return down();
  throw new Error('usage: observability.ts up [--interval SECONDS] [--port PORT] | down');
}
