// `--against <git-ref>`: the other side of an A/B comparison. Checks the ref
// out in a temporary detached worktree, gives it node_modules (a symlink to
// ours when package-lock.json is identical, else `npm ci` there), builds it
// with its own scripts/build.mjs, and refuses refs whose migrations differ
// from ours (both sides run on one seeded database). Also the A/B figures:
// medians, spread, the table and the "same within 3%" verdict.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** Where the migrations live (their set must be identical on both sides). */
const MIGRATIONS_DIR = 'libs/database/src/migrations';

function git(root, args) {
  const r = spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

/** A child process to its end, output inherited on stderr; rejects on a non-zero exit. */
function run(cmd, args, { cwd, what }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', process.stderr, process.stderr] });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${what} failed (${signal ? `signal ${signal}` : `exit ${code}`})`))));
  });
}

/** Migration file names and contents of a tree, keyed by name. */
/** A source's text without its layout: whitespace and trailing commas, which a formatter changes and a schema does not. */
function layoutFree(text) {
  return text.replace(/\s+/g, '').replace(/,([\])}])/g, '$1');
}

function migrations(tree) {
  const dir = path.join(tree, MIGRATIONS_DIR);
  if (!existsSync(dir)) return new Map();
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
      .map((f) => [f, layoutFree(readFileSync(path.join(dir, f), 'utf8'))]),
  );
}

/** Why the two trees cannot share one database, or null when their migrations are identical. */
export function migrationDifference(ours, theirs) {
  const a = migrations(ours);
  const b = migrations(theirs);
  const only = (x, y) => [...x.keys()].filter((k) => !y.has(k));
  const changed = [...a.keys()].filter((k) => b.has(k) && a.get(k) !== b.get(k));
  const parts = [];
  if (only(a, b).length) parts.push(`only in this tree: ${only(a, b).join(', ')}`);
  if (only(b, a).length) parts.push(`only in the other ref: ${only(b, a).join(', ')}`);
  if (changed.length) parts.push(`changed: ${changed.join(', ')}`);
  return parts.length ? parts.join('; ') : null;
}

/**
 * The other ref, checked out and built in `dir` (which must not exist).
 * Call `remove()` when done (also after a failure: it is safe to call twice).
 * @returns {Promise<{ref: string, sha: string, short: string, dir: string, distDir: string, nodeModules: string, remove: () => void}>}
 */
export async function prepareAgainst({ root, ref, dir, log }) {
  const resolved = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: root, encoding: 'utf8' });
  if (resolved.status !== 0) throw new Error(`--against ${ref}: not a commit of this repository`);
  const sha = resolved.stdout.trim();
  const short = git(root, ['rev-parse', '--short', sha]);
  let added = false;
  const remove = () => {
    if (!added) return;
    added = false;
    const r = spawnSync('git', ['worktree', 'remove', '--force', dir], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`could not remove the worktree ${dir}: ${r.stderr.trim()}\n`);
      spawnSync('git', ['worktree', 'prune'], { cwd: root });
    }
  };
  const against = { ref, sha, short, dir, distDir: path.join(dir, 'dist'), nodeModules: path.join(dir, 'node_modules'), remove };
  log(`--against ${ref}: checking out ${short} in ${dir}`);
  git(root, ['worktree', 'add', '--detach', dir, sha]);
  added = true;
  // Also when the bench exits without reaching its own cleanup (Ctrl-C, a crash).
  process.once('exit', remove);
  try {
    const difference = migrationDifference(root, dir);
    if (difference) {
      throw new Error(
        `--against ${ref} (${short}) has other migrations than this tree (${difference}): both sides run on one seeded database, so the bench refuses to compare them. Pick a ref with the same ${MIGRATIONS_DIR}.`,
      );
    }
    const lock = (tree) => readFileSync(path.join(tree, 'package-lock.json'), 'utf8');
    if (lock(root) === lock(dir)) {
      symlinkSync(path.join(root, 'node_modules'), against.nodeModules, 'dir');
      log(`--against ${ref}: package-lock.json unchanged, node_modules shared`);
    } else {
      log(`--against ${ref}: package-lock.json differs, npm ci in the worktree`);
      await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, what: `npm ci in ${dir}` });
    }
    log(`--against ${ref}: building`);
    await run(process.execPath, [path.join(dir, 'scripts/build.mjs')], { cwd: dir, what: `building ${ref}` });
    if (!existsSync(path.join(against.distDir, 'apps/api/src/main.js'))) throw new Error(`--against ${ref}: its build made no dist/apps/api/src/main.js`);
    return against;
  } catch (error) {
    remove();
    throw error;
  }
}

/** The median of numbers (the mean of the middle two for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * "Within 3%": the medians differ by at most the larger of 3% (of the other
 * ref's median) and 1 us. Compares CPU microseconds per request.
 */
export function sameWithin(ours, theirs, { percent = 3, floorUs = 1 } = {}) {
  const us = Math.abs(ours - theirs);
  const pct = theirs > 0 ? (us / theirs) * 100 : us > 0 ? Infinity : 0;
  return { same: us <= Math.max((percent / 100) * theirs, floorUs), pct, us };
}

/** One side's figures from its measured rounds (`measure` results). */
export function sideFigures(runs) {
  const rps = runs.map((r) => r.load.rps);
  const cpu = runs.map((r) => r.cpuUsPerRequest).filter((v) => v !== null && Number.isFinite(v));
  return {
    rounds: runs.length,
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    cpuUs: cpu.length ? median(cpu) : null,
    cpuMin: cpu.length ? Math.min(...cpu) : null,
    cpuMax: cpu.length ? Math.max(...cpu) : null,
    errors: runs.reduce((a, r) => a + r.load.errors, 0),
  };
}

const int = (n) => Math.round(n).toLocaleString('en-US');
const us = (n) => (n === null ? '-' : n.toFixed(1));

/**
 * The A/B table and the verdict line.
 * @param {{label: string, ref: string, figures: ReturnType<typeof sideFigures>}[]} sides this tree first, the other ref second
 */
export function formatAgainst(sides, { seconds, warmup }) {
  const head = ['side', 'ref', 'rounds', 'median req/s', 'median CPU us/req', 'req/s min-max', 'CPU us/req min-max', 'errors'];
  const lines = sides.map(({ label, ref, figures: f }) => [
    label,
    ref,
    String(f.rounds),
    int(f.rps),
    us(f.cpuUs),
    `${int(f.rpsMin)}-${int(f.rpsMax)}`,
    f.cpuMin === null ? '-' : `${us(f.cpuMin)}-${us(f.cpuMax)}`,
    String(f.errors),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells) => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const [a, b] = sides.map((s) => s.figures);
  const out = [
    `A/B: redirect, LRU hit, rounds interleaved A B, B A (${seconds} s each after ${warmup} s warm-up), one seeded database, same settings`,
    fmt(head),
    `|${widths.map((w, i) => (i < 2 ? ':'.padEnd(w + 2, '-') : '-'.padEnd(w + 1, '-') + ':')).join('|')}|`,
    ...lines.map(fmt),
  ];
  if (a.cpuUs === null || b.cpuUs === null) {
    out.push('same within 3%: unknown (no CPU time read from /proc)');
    return { text: out.join('\n'), verdict: null };
  }
  const v = sameWithin(a.cpuUs, b.cpuUs);
  const direction =
    a.cpuUs === b.cpuUs ? 'equal' : a.cpuUs < b.cpuUs ? `${sides[0].label} uses less CPU per request` : `${sides[0].label} uses more CPU per request`;
  out.push(`same within 3%: ${v.same ? 'yes' : 'no'} (medians differ by ${v.pct.toFixed(1)}%, ${v.us.toFixed(1)} us)`);
  out.push(
    `(median CPU us/req compared; "within 3%" = at most the larger of 3% of the other ref's median and 1 us; ${direction}; req/s medians ${a.rps >= b.rps ? '+' : ''}${(((a.rps - b.rps) / b.rps) * 100).toFixed(1)}%)`,
  );
  return { text: out.join('\n'), verdict: v };
}
