// The README's first command (after `npm ci`): builds, creates the database
// roles (owner and app) and the database, migrates it as the owner, starts
// the API and the worker as the app role on the local PostgreSQL and Redis,
// waits until both are ready, and prints a working curl example.
// Ctrl-C or SIGTERM (to it or to npm) stops both; it refuses to start while
// its ports are taken. Environment variables override every default (README: Configuration).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { chartNodeOptions } from './node-options.mjs';
import { adminUrlOf, provisionDatabase } from './up-database.mjs';
import { upEnvironment } from './up-env.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const env = upEnvironment(process.env);

function step(message) {
  process.stdout.write(`\u001b[1m==> ${message}\u001b[0m\n`);
}

function runOrExit(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/** Whether nothing listens on the port yet (a leftover run would answer the readiness check below). */
function portFree(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(Number(port), () => probe.close(() => resolve(true)));
  });
}

// One MANAGEMENT_PORT for two processes: the API takes it, the worker the next one.
const managementPorts = env.MANAGEMENT_PORT ? { api: env.MANAGEMENT_PORT, worker: String(Number(env.MANAGEMENT_PORT) + 1) } : { api: '9464', worker: '9465' };
const ports = [env.HTTP_PORT ?? '3000', managementPorts.api, managementPorts.worker];
for (const port of new Set(ports)) {
  if (!(await portFree(port))) {
    console.error(
      `port ${port} is in use: is another \`npm run up\` (or an API or worker) still running? Stop it first (ss -ltnp 'sport = :${port}' names it).`,
    );
    process.exit(1);
  }
}

step('building');
runOrExit('npm', ['run', '-s', 'build']);

step('creating the database roles and the database if needed');
try {
  for (const line of await provisionDatabase(env)) process.stdout.write(`    ${line}\n`);
} catch (e) {
  console.error(`could not prepare the database as a superuser at ${new URL(adminUrlOf(env)).host} (UP_DATABASE_ADMIN_URL): ${e.message}`);
  process.exit(1);
}

step('migrating');
runOrExit(process.execPath, ['dist/libs/database/src/migration/migrate.main.js']);

const tracing = path.join(root, 'dist/libs/observability/src/tracing/register.js');
const preload = existsSync(tracing) ? ['--require', tracing] : [];
const children = [];
const startedNames = new Set();
function start(name, entry) {
  startedNames.add(name);
  // The V8 heap of the chart's pods (values.yaml `<name>.nodeOptions`), unless NODE_OPTIONS is set.
  const nodeOptions = env.NODE_OPTIONS ?? chartNodeOptions(name);
  const child = spawn(process.execPath, [...preload, entry], {
    cwd: root,
    env: { ...env, NODE_OPTIONS: nodeOptions, MANAGEMENT_PORT: managementPorts[name] },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping`);
      stop(1);
    }
  });
  children.push(child);
}
let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 200).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
// npm does not pass SIGTERM on to this script: when npm dies, this process is
// re-parented, and stops the apps instead of leaving them running.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) stop(0);
}, 500).unref();

step('starting the API and the worker');
start('api', 'dist/apps/api/src/main.js');
if (existsSync(path.join(root, 'dist/apps/worker/src/main.js'))) start('worker', 'dist/apps/worker/src/main.js');

const base = env.PUBLIC_BASE_URL.replace(/\/$/, '');
const apiPort = env.HTTP_PORT ?? '3000';
const local = `http://127.0.0.1:${apiPort}`;
// Ready, not merely listening: the apps start before PostgreSQL and Redis answer, and say on /health/ready what they wait for.
const readiness = Object.entries(managementPorts)
  .filter(([name]) => startedNames.has(name))
  .map(([name, port]) => [name, `http://127.0.0.1:${port}/health/ready`]);
const deadline = Date.now() + 60_000;
for (;;) {
  const answers = await Promise.all(
    readiness.map(([, url]) =>
      fetch(url).then(
        async (r) => ({ ok: r.ok, body: await r.text() }),
        () => ({ ok: false, body: 'not listening' }),
      ),
    ),
  );
  if (answers.every((a) => a.ok)) break;
  if (Date.now() > deadline) {
    const waiting = answers.map((a, i) => (a.ok ? '' : `  ${readiness[i][0]}: ${a.body}\n`)).join('');
    console.error(`not ready within 60 s:\n${waiting}`);
    stop(1);
    await new Promise(() => undefined); // stop() exits the process
  }
  await new Promise((r) => setTimeout(r, 250));
}

process.stdout.write(`
Shortener is up: API ${local} (docs ${local}/api/docs), metrics and health on :${managementPorts.api} (API) and :${managementPorts.worker} (worker).
Admin key (development only): ${env.BOOTSTRAP_ADMIN_KEY}

Try it:
  curl -s -X POST ${local}/api/v1/links \\
    -H 'Authorization: Bearer ${env.BOOTSTRAP_ADMIN_KEY}' \\
    -H 'Content-Type: application/json' \\
    -d '{"url": "https://example.com/hello?x=1", "alias": "hello"}'
  curl -si ${local}/hello          # 302, Location: https://example.com/hello?x=1
  (short URLs are printed with ${base})

Ctrl-C stops both processes.
`);
