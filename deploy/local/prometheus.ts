// A local Prometheus (Debian's `prometheus` package) with the project's rules,
// scraping the API and the worker on this machine: the config, and starting,
// waiting for and stopping the server. Used by `npm run observability:up` and
// by the slo tests.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { REPO_ROOT } from '../slo/files';

export const RULES_DIR = join(REPO_ROOT, 'deploy/prometheus/rules');

export interface ScrapeTarget {
  job: string;
  target: string;
}

/** The processes of docs/design.md section 2 on their management ports; job names as the rules expect them (deploy/slo/operational.ts). */
export const APP_TARGETS: readonly ScrapeTarget[] = [
  { job: 'shortener-api', target: '127.0.0.1:9464' },
  { job: 'shortener-worker', target: '127.0.0.1:9465' },
];

export interface ConfigOptions {
  /** Scrape and rule evaluation interval: 15 s by default, 1 s for tests. */
  intervalSeconds: number;
  /** Where this Prometheus listens, for its own scrape job. */
  listen: string;
  targets?: readonly ScrapeTarget[];
  /** Rule files (absolute paths); every file of deploy/prometheus/rules by default. */
  ruleFiles?: readonly string[];
}

/** The rule files of the project, absolute, sorted. */
export function projectRuleFiles(): string[] {
  return readdirSync(RULES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(RULES_DIR, f));
}

/** prometheus.yml for the local stack. */
export function prometheusConfig(o: ConfigOptions): string {
  const interval = `${o.intervalSeconds}s`;
  const jobs = [{ job: 'prometheus', target: o.listen }, ...(o.targets ?? APP_TARGETS)];
  return stringify(
    {
      global: {
        scrape_interval: interval,
        // Prometheus refuses a timeout longer than the interval (its default is 10 s).
        scrape_timeout: `${Math.min(o.intervalSeconds, 10)}s`,
        evaluation_interval: interval,
      },
      rule_files: [...(o.ruleFiles ?? projectRuleFiles())],
      scrape_configs: jobs.map((j) => ({ job_name: j.job, static_configs: [{ targets: [j.target] }] })),
    },
    { lineWidth: 0 },
  );
}

/** Whether `cmd` is on PATH. */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs Debian's prometheus package (prometheus and promtool) when missing,
 * and stops the server its maintainer scripts may start on :9090, which would
 * hold the port and load none of our rules.
 */
export function ensurePrometheus(log: (line: string) => void = () => undefined): void {
  if (!hasCommand('prometheus') || !hasCommand('promtool')) {
    if (process.getuid?.() !== 0) throw new Error('prometheus is not installed: run `apt-get install -y prometheus` as root');
    log('installing Debian package prometheus');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Test files call this in parallel: the others wait for dpkg's lock instead of failing.
    const apt = (...args: string[]) => spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], { stdio: 'inherit', env });
    let r = apt('install', '-y', '-q', 'prometheus');
    if (r.status !== 0) {
      apt('update', '-q');
      r = apt('install', '-y', '-q', 'prometheus');
    }
    if (r.status !== 0) throw new Error('apt-get install prometheus failed');
  }
  stopPackagedService(log);
}

function stopPackagedService(log: (line: string) => void): void {
  if (hasCommand('systemctl') && spawnSync('systemctl', ['is-active', '--quiet', 'prometheus']).status === 0) {
    log('stopping the packaged prometheus service');
    spawnSync('systemctl', ['stop', 'prometheus'], { stdio: 'inherit' });
  } else if (existsSync('/etc/init.d/prometheus') && spawnSync('/etc/init.d/prometheus', ['status'], { stdio: 'ignore' }).status === 0) {
    log('stopping the packaged prometheus service');
    spawnSync('/etc/init.d/prometheus', ['stop'], { stdio: 'inherit' });
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** Polls `check` every `everyMs` until it returns true; throws with `what` after `timeoutMs`. */
export async function pollUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : JSON.stringify(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface PrometheusOptions {
  /** Working directory: prometheus.yml, data/, prometheus.log. */
  dir: string;
  port: number;
  intervalSeconds: number;
  targets?: readonly ScrapeTarget[];
  ruleFiles?: readonly string[];
  /** Keep running after this process exits (observability:up); otherwise a child stopped by `stop()`. */
  detached?: boolean;
}

export interface RunningPrometheus {
  url: string;
  pid: number;
  /** SIGTERM, then waits (with a deadline) for the process to exit. */
  stop(): Promise<void>;
}

/** Starts Prometheus with the project's config and waits until `/-/ready` answers. */
export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  mkdirSync(join(o.dir, 'data'), { recursive: true });
  const listen = `127.0.0.1:${o.port}`;
  const config = join(o.dir, 'prometheus.yml');
  writeFileSync(config, prometheusConfig({ intervalSeconds: o.intervalSeconds, listen, targets: o.targets, ruleFiles: o.ruleFiles }));
  const log = openSync(join(o.dir, 'prometheus.log'), 'a');
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(o.dir, 'data')}`,
      `--web.listen-address=${listen}`,
      '--web.enable-lifecycle',
      '--storage.tsdb.retention.time=2d',
    ],
    { detached: o.detached === true, stdio: ['ignore', log, log] },
  );
  if (o.detached) child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = `http://${listen}`;
  await pollUntil(
    `Prometheus at ${url} (log: ${join(o.dir, 'prometheus.log')})`,
    async () => {
      if (exited) throw new Error(`prometheus exited, see ${join(o.dir, 'prometheus.log')}`);
      return (await fetch(`${url}/-/ready`)).ok;
    },
    30_000,
  );
  const pid = child.pid!;
  return { url, pid, stop: () => stopPid(pid, 'prometheus') };
}

/** SIGTERM to `pid`, then polls until it has exited (10 s deadline). */
export async function stopPid(pid: number, what: string): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  await pollUntil(`${what} (pid ${pid}) to exit`, async () => !isAlive(pid), 10_000);
}

/** Whether process `pid` still runs (signal 0 reaches it and it is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie child still answers signal 0; its state in /proc says it is gone.
    const stat = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
    return stat !== '' && !stat.startsWith('Z');
  } catch {
    return false;
  }
}
