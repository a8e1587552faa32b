import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { freePort } from '../support/child-process';
import {
  ensureBubblewrap,
  imageEnv,
  PINNED_NODE,
  prepareRuntimeTree,
  REPO_ROOT,
  runSandboxed,
  RUNTIME_UID,
  RuntimeTree,
  SandboxedProcess,
  snapshotTree,
  startSandboxed,
} from '../support/image-sandbox';
import { OtlpReceiver, ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver';
import { ADMIN_URL, databaseUrl, REDIS_URL, runId, templateDatabaseName, TEST_ADMIN_KEY, testEnv, workerDatabaseName, workerId } from '../support/test-env';
import { Probe, waitUntil } from '../support/wait';

/**
 * The image's runtime contract without Docker: the production tree
 * (`npm ci --omit=dev` + dist + package.json, laid out as
 * deploy/docker/Dockerfile lays out /app) runs under bubblewrap as uid 1000
 * with a read-only root and a tmpfs /tmp: the migration Job's command against
 * a fresh database, then the API (serves a redirect) and the worker, each
 * ending with exit code 0 on SIGTERM as PID 1, as in a container.
 *
 * The first run installs the production dependencies (about 40 s) into
 * node_modules/.cache/shortener-image-runtime/<lockfile hash>; later runs reuse it.
 */

/** The chart's `shortener.args` (charts/shortener/templates/_helpers.tpl), after `command: ["node"]`. */
const ARGS = {
  api: ['--require', './dist/libs/observability/src/tracing/register.js', 'dist/apps/api/src/main.js'],
  worker: ['--require', './dist/libs/observability/src/tracing/register.js', 'dist/apps/worker/src/main.js'],
  migrations: ['dist/libs/database/src/migration/migrate.main.js'],
};
/** Production secrets (the chart's Secret): loadConfig refuses NODE_ENV=production without them. */
const SECRETS = {
  API_KEY_PEPPER: 'image-runtime-pepper-0123456789',
  CODE_PERMUTATION_KEY: 'image-runtime-permutation-key-01',
  CLICK_IP_SALT: 'image-runtime-ip-salt-0123456789',
  BOOTSTRAP_ADMIN_KEY: TEST_ADMIN_KEY,
};
const SHUTDOWN_TIMEOUT_MS = 5_000;
const PINNED_VERSION = execFileSync(PINNED_NODE, ['--version'], { encoding: 'utf8' }).trim();

/** What a process in the sandbox sees: identity, Node.js, and which writes succeed. */
const PROBE = `
const fs = require('fs');
const attempt = (f) => { try { f(); return 'ok'; } catch (e) { return e.code; } };
console.log(JSON.stringify({
  uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(), pid: process.pid,
  version: process.version, execPath: process.execPath, cwd: process.cwd(),
  app: fs.readdirSync('/app').sort(),
  writes: {
    '/probe': attempt(() => fs.writeFileSync('/probe', 'x')),
    '/app/probe': attempt(() => fs.writeFileSync('/app/probe', 'x')),
    '/app/dist/probe': attempt(() => fs.writeFileSync('/app/dist/probe', 'x')),
    '/app/node_modules/.cache': attempt(() => fs.mkdirSync('/app/node_modules/.cache')),
    '/app/package.json': attempt(() => fs.appendFileSync('/app/package.json', ' ')),
    '/home': attempt(() => fs.mkdirSync('/home')),
    '/usr/local/bin/probe': attempt(() => fs.writeFileSync('/usr/local/bin/probe', 'x')),
    '/etc/probe': attempt(() => fs.writeFileSync('/etc/probe', 'x')),
    '/tmp/probe': attempt(() => fs.writeFileSync('/tmp/probe', 'x')),
  },
}));
`;

/** The lines of /proc/<pid>/status that describe who the process is. */
function identity(pid: number): Record<string, string> {
  const lines = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n');
  const wanted = ['Uid', 'Gid', 'Groups', 'NSpid', 'CapEff', 'CapBnd', 'NoNewPrivs'];
  return Object.fromEntries(
    lines
      .map((l) => l.split(':\t'))
      .filter(([k]) => wanted.includes(k))
      .map(([k, v]) => [k, v.trim()]),
  );
}

/** The identity every sandboxed process has, seen from the host: uid/gid 1000 unmapped, PID 1 inside, no capabilities. */
const expectedIdentity = (hostPid: number) => ({
  Uid: '1000\t1000\t1000\t1000',
  Gid: '1000\t1000\t1000\t1000',
  Groups: '',
  NSpid: `${hostPid}\t1`,
  CapEff: '0000000000000000',
  CapBnd: '0000000000000000',
  NoNewPrivs: '1',
});

async function ready(managementPort: number, proc: SandboxedProcess, what: string): Promise<void> {
  await waitUntil(
    `${what} in the sandbox to be ready`,
    async () => {
      if (proc.bwrap.exitCode !== null || proc.bwrap.signalCode !== null)
        throw new Error(`${what} exited (${proc.bwrap.exitCode ?? proc.bwrap.signalCode}):\n${proc.output()}`);
      const res = await fetch(`http://127.0.0.1:${managementPort}/health/ready`).catch(() => null);
      return res?.status === 200;
    },
    { timeoutMs: 60_000, intervalMs: 50, describe: () => proc.output().slice(-3000) },
  );
}

/** SIGTERM to node (PID 1 of the sandbox, as kubelet signals a container); resolves with bwrap's exit and the time it took. */
async function terminate(proc: SandboxedProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; withinTimeout: boolean }> {
  const pid = await proc.nodePid();
  const started = Date.now();
  process.kill(pid, 'SIGTERM');
  const deadline = setTimeout(() => {
    proc.kill();
  }, SHUTDOWN_TIMEOUT_MS + 10_000);
  const exit = await proc.exited;
  clearTimeout(deadline);
  return { ...exit, withinTimeout: Date.now() - started < SHUTDOWN_TIMEOUT_MS };
}

async function metricLine(managementPort: number, name: string): Promise<string | undefined> {
  const body = await (await fetch(`http://127.0.0.1:${managementPort}/metrics`)).text();
  return body.split('\n').find((l) => l.startsWith(`${name}{`));
}

describe('the image runtime contract under bubblewrap (production tree, uid 1000, read-only root, tmpfs /tmp)', () => {
  const database = `${workerDatabaseName()}_image`;
  const redisPrefix = `test:${runId()}:w${workerId()}:image:`;
  const queuePrefix = `{test-${runId()}-w${workerId()}-image}`;
  /** The container's environment: the worker's test env on a fresh database and own prefixes, production mode, the chart's secrets. */
  const containerEnv = (overrides: Record<string, string> = {}) =>
    imageEnv(
      testEnv({
        DATABASE_URL: databaseUrl(database),
        REDIS_KEY_PREFIX: redisPrefix,
        QUEUE_PREFIX: queuePrefix,
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        ...SECRETS,
        ...overrides,
      }),
    );
  let bwrap: string;
  let tree: RuntimeTree;
  let treeBefore: string[];
  const started: SandboxedProcess[] = [];
  const start = (args: string[], env: Record<string, string>) => {
    const proc = startSandboxed(bwrap, tree, args, env);
    started.push(proc);
    return proc;
  };
  const admin = new Client({ connectionString: ADMIN_URL });

  beforeAll(async () => {
    bwrap = ensureBubblewrap();
    // First run: `npm ci --omit=dev` (about 40 s); cached by lockfile hash after.
    tree = prepareRuntimeTree();
    treeBefore = snapshotTree(tree);
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${database}"`);
  }, 600_000);

  afterAll(async () => {
    for (const proc of started) proc.kill();
    await Promise.all(started.map((p) => p.exited));
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      for (const pattern of [`${redisPrefix}*`, `${queuePrefix}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          if (keys.length > 0) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
    } finally {
      redis.disconnect();
    }
    tree?.remove();
  });

  it('runs the commands the chart runs, and the image CMD is the API', () => {
    const helpers = readFileSync(path.join(REPO_ROOT, 'charts/shortener/templates/_helpers.tpl'), 'utf8');
    const block = helpers.slice(helpers.indexOf('{{- define "shortener.args" -}}'));
    const items = block
      .slice(0, block.indexOf('{{- end -}}\n{{- end -}}'))
      .split('\n')
      .filter((l) => l.startsWith('- '))
      .map((l) => l.slice(2));
    expect(items).toEqual([...ARGS.migrations, '--require', './dist/libs/observability/src/tracing/register.js', '{{ printf "dist/apps/%s/src/main.js" . }}']);
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ENTRYPOINT ["node"]\nCMD ${JSON.stringify(ARGS.api).replace(/","/g, '", "')}\n`);
  });

  it('lays out /app as the Dockerfile does: package.json, dist and production dependencies only', () => {
    const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
    };
    const topLevel = Object.entries(lock.packages).filter(([p]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(p));
    const installed = (p: string) => {
      try {
        readFileSync(path.join(tree.nodeModules, p.slice('node_modules/'.length), 'package.json'));
        return true;
      } catch {
        return false;
      }
    };
    // Development-only packages (the `node` binary package among them) are left out; every required production package is there.
    expect(topLevel.filter(([p, m]) => m.dev && installed(p)).map(([p]) => p)).toEqual([]);
    expect(topLevel.filter(([p, m]) => !m.dev && !m.optional && !m.devOptional && !installed(p)).map(([p]) => p)).toEqual([]);
    expect(installed('node_modules/node')).toBe(false);
  });

  it('runs node as uid/gid 1000 and PID 1, Node.js 24 at /usr/local/bin/node, with only /tmp writable', async () => {
    const probe = await runSandboxed(bwrap, tree, ['-e', PROBE], containerEnv());
    expect({ code: probe.code, signal: probe.signal }).toEqual({ code: 0, signal: null });
    expect(PINNED_VERSION).toMatch(/^v24\./);
    expect(JSON.parse(probe.output)).toEqual({
      uid: RUNTIME_UID,
      gid: RUNTIME_UID,
      groups: [RUNTIME_UID],
      pid: 1,
      version: PINNED_VERSION,
      execPath: '/usr/local/bin/node',
      cwd: '/app',
      app: ['dist', 'node_modules', 'package.json'],
      writes: {
        '/probe': 'EROFS',
        '/app/probe': 'EROFS',
        '/app/dist/probe': 'EROFS',
        '/app/node_modules/.cache': 'EROFS',
        // Root's file, as in the image: the permission check comes before the read-only mount's.
        '/app/package.json': 'EACCES',
        // HOME of the image's user (/home/node) cannot be created.
        '/home': 'EROFS',
        '/usr/local/bin/probe': 'EROFS',
        '/etc/probe': 'EROFS',
        '/tmp/probe': 'ok',
      },
    });
  });

  it('migrates a fresh database with the migration Job command (exit 0), and a second run finds it up to date', async () => {
    const first = await runSandboxed(bwrap, tree, ARGS.migrations, containerEnv());
    expect({ code: first.code, signal: first.signal }).toEqual({ code: 0, signal: null });
    const names = async (name: string): Promise<string[]> => {
      const client = new Client({ connectionString: databaseUrl(name) });
      await client.connect();
      try {
        return (await client.query<{ name: string }>('SELECT name FROM typeorm_migrations ORDER BY id')).rows.map((r) => r.name);
      } finally {
        await client.end();
      }
    };
    // The run's template was migrated by the global setup with the same migrations, in process.
    const expected = await names(templateDatabaseName());
    const files = readdirSync(path.join(REPO_ROOT, 'libs/database/src/migrations')).filter((f) => /^\d+-.*\.ts$/.test(f) && !f.endsWith('.spec.ts'));
    expect(expected.map((n) => /\d+$/.exec(n)?.[0])).toEqual(files.map((f) => f.split('-')[0]).sort());
    expect(await names(database)).toEqual(expected);
    expect(first.logLines.at(-1)?.msg).toBe(`migrations applied: ${expected.length}`);

    const second = await runSandboxed(bwrap, tree, ARGS.migrations, containerEnv());
    expect({ code: second.code, signal: second.signal, last: second.logLines.at(-1)?.msg }).toEqual({ code: 0, signal: null, last: 'schema is up to date' });
  });

  describe('the API', () => {
    let api: SandboxedProcess;
    let receiver: OtlpReceiver;
    let url: string;
    let managementPort: number;
    const alias = `img-${workerId()}-${Date.now().toString(36)}`;
    const target = 'https://example.com/image-runtime?q=a%20b&x=1#frag';

    beforeAll(async () => {
      receiver = await startOtlpReceiver();
      const port = await freePort();
      managementPort = await freePort();
      url = `http://127.0.0.1:${port}`;
      api = start(
        ARGS.api,
        containerEnv({
          HTTP_PORT: String(port),
          MANAGEMENT_PORT: String(managementPort),
          // Tracing on: the SDK and its instrumentations load from the production tree.
          OTEL_SDK_DISABLED: 'false',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '50',
        }),
      );
      await ready(managementPort, api, 'the API');
    }, 90_000);

    afterAll(async () => {
      api?.kill();
      await receiver?.close();
    });

    it('runs as uid 1000 in its own PID namespace without capabilities, on the pinned Node.js', async () => {
      const pid = await api.nodePid();
      expect(identity(pid)).toEqual(expectedIdentity(pid));
      expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/)).toEqual(['1000', '1000', '1']);
      const [major, minor, patch] = PINNED_VERSION.slice(1).split('.');
      expect(await metricLine(managementPort, 'nodejs_version_info')).toBe(
        `nodejs_version_info{version="${PINNED_VERSION}",major="${major}",minor="${minor}",patch="${patch}"} 1`,
      );
    });

    it('creates a link with the bootstrap admin key and redirects to it (302, exact Location), traced', async () => {
      const created = await fetch(`${url}/api/v1/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: target, alias }),
      });
      expect(created.status).toBe(201);
      expect(((await created.json()) as { shortUrl: string }).shortUrl).toBe(`https://short.example/${alias}`);

      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const res = await fetch(`${url}/${alias}`, { redirect: 'manual', headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
      expect({ status: res.status, location: res.headers.get('location') }).toEqual({ status: 302, location: target });

      const server = await waitUntil(
        'the redirect server span',
        (): Probe<ReceivedSpan> => {
          const span = receiver.spans.find((s) => s.traceId === traceId && s.kind === 2 && s.scope === '@opentelemetry/instrumentation-http');
          return span ? { done: true, state: span } : { done: false };
        },
        {
          timeoutMs: 15_000,
        },
      );
      expect({ service: server.service, name: server.name, route: server.attributes['http.route'] }).toEqual({
        service: 'shortener-api',
        name: 'GET /:code',
        route: '/:code',
      });
    });

    it('exits with code 0 on SIGTERM within the shutdown timeout', async () => {
      const exit = await terminate(api);
      expect(exit).toEqual({ code: 0, signal: null, withinTimeout: true });
      expect(api.logLines().map((l) => l.msg)).toContain('shutdown complete');
    });
  });

  describe('the worker', () => {
    let worker: SandboxedProcess;
    let managementPort: number;

    beforeAll(async () => {
      managementPort = await freePort();
      worker = start(ARGS.worker, containerEnv({ MANAGEMENT_PORT: String(managementPort) }));
      await ready(managementPort, worker, 'the worker');
    }, 90_000);

    afterAll(() => {
      worker?.kill();
    });

    it('starts as uid 1000, PID 1 of its sandbox, and serves its metrics', async () => {
      const pid = await worker.nodePid();
      expect(identity(pid)).toEqual(expectedIdentity(pid));
      expect(worker.logLines().find((l) => l.msg === 'worker started')).toMatchObject({ pid: 1, management_port: managementPort });
      expect(await metricLine(managementPort, 'nodejs_version_info')).toMatch(
        new RegExp(`^nodejs_version_info\\{version="${PINNED_VERSION.replace(/\./g, '\\.')}",`),
      );
    });

    it('exits with code 0 on SIGTERM within the shutdown timeout', async () => {
      const exit = await terminate(worker);
      expect(exit).toEqual({ code: 0, signal: null, withinTimeout: true });
    });
  });

  it('left the production tree exactly as it was: nothing written outside /tmp', () => {
    expect(snapshotTree(tree)).toEqual(treeBefore);
  });
});
