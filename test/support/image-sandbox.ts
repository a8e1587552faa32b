import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { captureOutput } from './child-process';
import { Probe, waitUntil } from './wait';

/**
 * The container image's runtime contract without Docker: the
 * production tree laid out as deploy/docker/Dockerfile lays it out, run under
 * bubblewrap as uid/gid 1000 with a read-only root and a tmpfs /tmp.
 *
 *   /app/package.json   the repository's package.json
 *   /app/node_modules   `npm ci --omit=dev` (cached by lockfile hash)
 *   /app/dist           a copy of the repository's `npm run build` output
 *   /usr/local/bin/node the repository's pinned Node.js 24 (`node` devDependency),
 *                       where the official node image has it
 *
 * Everything is bound read-only; `/` itself is remounted read-only last, so
 * the only writable paths are /tmp (tmpfs, as the chart's emptyDir), /dev and
 * /proc. The network is shared (PostgreSQL and Redis on 127.0.0.1).
 */

export const REPO_ROOT = path.resolve(__dirname, '../..');
/** The runtime user of the image (`USER 1000:1000`). */
export const RUNTIME_UID = 1000;
/** The pinned Node.js 24 binary of the `node` devDependency. */
export const PINNED_NODE = path.join(REPO_ROOT, 'node_modules/node/bin/node');
/** PATH of the official node image. */
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CACHE_ROOT = path.join(REPO_ROOT, 'node_modules/.cache/shortener-image-runtime');
/** Entry points the Dockerfile's three processes run; the staged dist must hold them. */
const ENTRY_POINTS = [
  'dist/apps/api/src/main.js',
  'dist/apps/worker/src/main.js',
  'dist/libs/database/src/migration/migrate.main.js',
  'dist/libs/observability/src/tracing/register.js',
];

/** The host paths bound into the sandbox's /app. */
export interface RuntimeTree {
  nodeModules: string;
  dist: string;
  packageJson: string;
  /** The per-run staging directory (dist and package.json copies); removed by {@link RuntimeTree.remove}. */
  stagingDir: string;
  /** Whether this call ran `npm ci --omit=dev` (false: cache hit). */
  installed: boolean;
  /** `npm ci` output when it ran. */
  installLog: string;
  remove(): void;
}

function which(command: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Path of `bwrap`, installing Debian's `bubblewrap` package when it is missing (tests run as root). */
export function ensureBubblewrap(): string {
  const found = which('bwrap');
  if (found) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = spawnSync(
    'sh',
    ['-c', 'apt-get install -y -o DPkg::Lock::Timeout=120 bubblewrap || (apt-get update && apt-get install -y -o DPkg::Lock::Timeout=120 bubblewrap)'],
    {
      env,
      encoding: 'utf8',
      timeout: 240_000,
    },
  );
  const installed = which('bwrap');
  if (!installed) throw new Error(`could not install bubblewrap (exit ${install.status}):\n${install.stdout}\n${install.stderr}`);
  return installed;
}

/**
 * Cache key of the production install: what `npm ci --omit=dev` reads
 * (the lockfile, the dependency fields of package.json) and the Node ABI its
 * install scripts build or pick prebuilt add-ons for.
 */
export function installKey(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const hash = createHash('sha256');
  hash.update(readFileSync(path.join(REPO_ROOT, 'package-lock.json')));
  hash.update(JSON.stringify([pkg.dependencies, pkg.optionalDependencies, pkg.peerDependencies, pkg.overrides, pkg.allowScripts]));
  hash.update(`node-abi-${process.versions.modules}`);
  return hash.digest('hex').slice(0, 24);
}

/**
 * `npm ci --omit=dev` of package.json + package-lock.json, as the Dockerfile's
 * `deps` stage runs it, in node_modules/.cache/shortener-image-runtime/<key>.
 * Installs into a private directory and renames it into place, so concurrent
 * runs never see a half-written tree.
 *
 * @throws with npm's exact output when `npm ci` fails.
 */
function ensureProductionInstall(): { dir: string; installed: boolean; log: string } {
  const key = installKey();
  const dir = path.join(CACHE_ROOT, key);
  if (existsSync(path.join(dir, 'node_modules/.package-lock.json'))) return { dir, installed: false, log: '' };
  mkdirSync(CACHE_ROOT, { recursive: true });
  const work = path.join(CACHE_ROOT, `.${key}.${process.pid}.${Date.now()}`);
  mkdirSync(work);
  try {
    for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(REPO_ROOT, f), path.join(work, f));
    // npm runs through the Node.js of this process (Node 24: npx puts node_modules/.bin first on PATH).
    const r = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts=false', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: work,
      env: { ...process.env, npm_config_update_notifier: 'false' },
      encoding: 'utf8',
      timeout: 600_000,
    });
    const log = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`npm ci --omit=dev failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${log}`);
    writeFileSync(path.join(work, 'install.log'), log);
    try {
      renameSync(work, dir);
    } catch (e) {
      // Another run renamed its install first: use that one.
      if (!existsSync(path.join(dir, 'node_modules/.package-lock.json'))) throw e;
      rmSync(work, { recursive: true, force: true });
    }
    pruneStaleInstalls(key);
    return { dir, installed: true, log };
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

/** Removes installs of other lockfiles (about 190 MB each) untouched for a day. */
function pruneStaleInstalls(current: string): void {
  const dayAgo = Date.now() - 86_400_000;
  for (const entry of readdirSync(CACHE_ROOT)) {
    if (entry === current) continue;
    const full = path.join(CACHE_ROOT, entry);
    if (statSync(full).mtimeMs < dayAgo) rmSync(full, { recursive: true, force: true });
  }
}

/**
 * The production tree: the cached `npm ci --omit=dev` install plus copies of
 * dist/ (built with `npm run build` first when missing) and package.json in a
 * per-run directory under the OS temp dir, so a concurrent rebuild of dist/
 * cannot change what the sandbox runs.
 */
export function prepareRuntimeTree(): RuntimeTree {
  const install = ensureProductionInstall();
  if (ENTRY_POINTS.some((p) => !existsSync(path.join(REPO_ROOT, p)))) {
    const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  const stagingDir = mkdtempSync(path.join(tmpdir(), 'shortener-image-'));
  // mkdtemp makes it 0700: the runtime user must reach the files (read-only, as root-owned files in the image).
  chmodSync(stagingDir, 0o755);
  cpSync(path.join(REPO_ROOT, 'dist'), path.join(stagingDir, 'dist'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(stagingDir, 'package.json'));
  const missing = ENTRY_POINTS.filter((p) => !existsSync(path.join(stagingDir, p)));
  if (missing.length > 0) throw new Error(`the copied dist/ lacks ${missing.join(', ')} (was it being rebuilt?)`);
  return {
    nodeModules: path.join(install.dir, 'node_modules'),
    dist: path.join(stagingDir, 'dist'),
    packageJson: path.join(stagingDir, 'package.json'),
    stagingDir,
    installed: install.installed,
    installLog: install.log,
    remove: () => {
      rmSync(stagingDir, { recursive: true, force: true });
    },
  };
}

/**
 * Every path under the tree with its size and mtime: two snapshots differ iff
 * something was created, removed or rewritten.
 */
export function snapshotTree(tree: RuntimeTree): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const st = lstatSync(full);
      out.push(`${full} ${st.size} ${st.mtimeMs}`);
      if (entry.isDirectory()) walk(full);
    }
  };
  walk(tree.nodeModules);
  walk(tree.dist);
  const pkg = lstatSync(tree.packageJson);
  out.push(`${tree.packageJson} ${pkg.size} ${pkg.mtimeMs}`);
  return out;
}

/** Top-level directories of the host that are symlinks into /usr (merged /usr), recreated as such. */
function rootLinksAndBinds(): string[] {
  const args: string[] = [];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32']) {
    if (!existsSync(dir)) continue;
    if (lstatSync(dir).isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  return args;
}

/**
 * The full command line: `setpriv` drops to uid/gid 1000 with no
 * supplementary groups before bwrap runs, so the sandbox is an unprivileged
 * user namespace whose uid 1000 is the host's uid 1000 (not root mapped to
 * 1000); `--as-pid-1` makes node PID 1 of its PID namespace, as
 * `ENTRYPOINT ["node"]` is in a container.
 */
export function sandboxCommand(bwrap: string, tree: RuntimeTree, args: string[]): { file: string; argv: string[] } {
  const setpriv = which('setpriv');
  if (!setpriv) throw new Error('setpriv (util-linux) is missing');
  const argv = [
    `--reuid=${RUNTIME_UID}`,
    `--regid=${RUNTIME_UID}`,
    '--clear-groups',
    '--',
    bwrap,
    '--unshare-user',
    '--uid',
    String(RUNTIME_UID),
    '--gid',
    String(RUNTIME_UID),
    '--unshare-pid',
    '--as-pid-1',
    '--unshare-ipc',
    '--unshare-uts',
    '--hostname',
    'shortener',
    '--die-with-parent',
    '--new-session',
    // The image's system: /usr, with the official image's Node.js in /usr/local/bin.
    '--ro-bind',
    '/usr',
    '/usr',
    '--tmpfs',
    '/usr/local',
    '--ro-bind',
    PINNED_NODE,
    '/usr/local/bin/node',
    '--remount-ro',
    '/usr/local',
    ...rootLinksAndBinds(),
    '--ro-bind',
    '/etc/ssl',
    '/etc/ssl',
    '--ro-bind-try',
    '/etc/hosts',
    '/etc/hosts',
    '--ro-bind-try',
    '/etc/resolv.conf',
    '/etc/resolv.conf',
    // The Dockerfile's /app.
    '--ro-bind',
    tree.packageJson,
    '/app/package.json',
    '--ro-bind',
    tree.nodeModules,
    '/app/node_modules',
    '--ro-bind',
    tree.dist,
    '/app/dist',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--chdir',
    '/app',
    '--remount-ro',
    '/',
    '--',
    'node',
    ...args,
  ];
  return { file: setpriv, argv };
}

/** The environment the image gives every process, plus the container's own variables. */
export function imageEnv(env: Record<string, string>): Record<string, string> {
  // HOME of the image's `node` user; it does not exist here and could not be created (read-only root).
  return { PATH: IMAGE_PATH, HOME: '/home/node', NODE_ENV: 'production', ...env };
}

/** A process running in the sandbox. */
export interface SandboxedProcess {
  /** The setpriv/bwrap process (node is its child, PID 1 of the sandbox). */
  bwrap: ChildProcess;
  output(): string;
  /** stdout lines that parse as JSON (pino and the migration runner log JSON). */
  logLines(): Record<string, unknown>[];
  /** bwrap's exit: node's exit code (bwrap passes it on), or the signal that ended bwrap. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Host PID of the sandboxed node process (polls until it exists). */
  nodePid(): Promise<number>;
  /** SIGKILL to node and bwrap if still running. */
  kill(): void;
}

/** Host PIDs of the descendants of `root` (reads /proc). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the parenthesised comm: state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(entry), ppid);
    } catch {
      // Exited while scanning.
    }
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const p = frontier.pop()!;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Starts `node <args>` in the sandbox with exactly `env` (nothing of the test process's environment). */
export function startSandboxed(bwrap: string, tree: RuntimeTree, args: string[], env: Record<string, string>): SandboxedProcess {
  const { file, argv } = sandboxCommand(bwrap, tree, args);
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, logLines } = captureOutput(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    }),
  );
  let pid: number | undefined;
  const findNode = (): number | undefined => descendants(child.pid!).find((p) => cmdline(p)[0] === 'node');
  return {
    bwrap: child,
    output,
    logLines,
    exited,
    nodePid: async () => {
      pid ??= await waitUntil(
        `node to appear under bwrap (pid ${child.pid})`,
        (): Probe<number> => {
          const found = findNode();
          if (found !== undefined) return { done: true, state: found };
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the sandbox exited before node was found:\n${output()}`);
          return { done: false };
        },
        { timeoutMs: 10_000, intervalMs: 20, describe: output },
      );
      return pid;
    },
    kill: () => {
      const running = child.exitCode === null && child.signalCode === null;
      if (!running) return;
      const nodePid = pid ?? findNode();
      if (nodePid !== undefined) {
        try {
          process.kill(nodePid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      child.kill('SIGKILL');
    },
  };
}

/** Runs `node <args>` in the sandbox to completion; SIGKILL after `timeoutMs`. */
export async function runSandboxed(
  bwrap: string,
  tree: RuntimeTree,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; logLines: Record<string, unknown>[] }> {
  const run = startSandboxed(bwrap, tree, args, env);
  const timer = setTimeout(() => {
    run.kill();
  }, timeoutMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  return { code, signal, output: run.output(), logLines: run.logLines() };
}
