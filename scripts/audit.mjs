#!/usr/bin/env node
// Dependency audit gate: `npm audit --omit=dev --audit-level=high`
// with an allowlist. Fails on every high or critical advisory of a production
// dependency that is not allowlisted, or whose allowlist entry has expired.
//
// Usage: node scripts/audit.mjs [--report <npm-audit.json>] [--allowlist <file>]
//                               [--today YYYY-MM-DD] [--allow-unavailable]
//   --report             evaluate a saved `npm audit --json` report instead of running npm
//   --allowlist          default: audit-allowlist.json at the repository root
//   --today              the date expiries are compared with (default: today, UTC)
//   --allow-unavailable  exit 0 (with a warning) when npm cannot get advisories
//
// Allowlist: { "advisories": [{ "id": "GHSA-xxxx-xxxx-xxxx", "reason": "...", "expires": "YYYY-MM-DD" }] }
// `id` is the advisory's GHSA id (or npm's numeric advisory id); an entry is
// valid through its `expires` day (UTC) and must say why the risk is accepted.
//
// Exit status: 0 pass; 1 advisories not allowed, or an invalid allowlist;
// 2 npm could not get advisories (the audit endpoint is unreachable).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BLOCKING = new Set(['high', 'critical']);
const ID = /^(GHSA(-[23456789cfghjmpqrvwx]{4}){3}|\d+)$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseArgs(argv) {
  const args = { allowlist: path.join(ROOT, 'audit-allowlist.json'), today: new Date().toISOString().slice(0, 10), allowUnavailable: false };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--allow-unavailable') args.allowUnavailable = true;
    else if (flag === '--report' || flag === '--allowlist' || flag === '--today') args[flag.slice(2)] = argv[++i];
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!DAY.test(args.today)) throw new Error(`--today must be YYYY-MM-DD, not ${args.today}`);
  return args;
}

/** Runs npm audit on the production dependencies; returns its JSON output as text. */
function runNpmAudit() {
  const result = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result.stdout;
}

/** Where npm names hosts in its errors; the message stays useful without them. */
const redact = (text) => String(text).replace(/https?:\/\/\S+/g, '<audit endpoint>');

/**
 * The blocking advisories of an npm audit report (format v2, npm 7+):
 * high and critical ones, each once, with the packages it affects.
 * @returns {{ available: true, advisories: Array<{id, severity, title, url, packages}> } | { available: false, reason: string }}
 */
export function blockingAdvisories(report) {
  if (!report || typeof report !== 'object' || report.auditReportVersion !== 2 || typeof report.vulnerabilities !== 'object') {
    const reason = report?.error?.summary || report?.message || report?.error?.code || 'npm printed no audit report';
    return { available: false, reason: redact(reason) };
  }
  const byId = new Map();
  for (const vulnerability of Object.values(report.vulnerabilities)) {
    for (const via of vulnerability.via ?? []) {
      // A string names another vulnerable package (the advisory is listed under it).
      if (typeof via !== 'object' || !BLOCKING.has(via.severity)) continue;
      const id = /\/(GHSA-[a-z0-9-]+)$/i.exec(via.url ?? '')?.[1] ?? String(via.source);
      const entry = byId.get(id) ?? { id, severity: via.severity, title: via.title, url: via.url, packages: new Set() };
      entry.packages.add(`${via.name ?? vulnerability.name}@${via.range ?? '*'}`);
      byId.set(id, entry);
    }
  }
  return {
    available: true,
    advisories: [...byId.values()].map((a) => ({ ...a, packages: [...a.packages].sort() })).sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/**
 * Validates the allowlist file's content.
 * @returns {{ entries: Array<{id, reason, expires}>, problems: string[] }}
 */
export function readAllowlist(json) {
  const problems = [];
  const list = json?.advisories;
  if (!Array.isArray(list)) return { entries: [], problems: ['the allowlist must be an object with an "advisories" array'] };
  const seen = new Set();
  list.forEach((entry, i) => {
    const where = `advisories[${i}]${typeof entry?.id === 'string' ? ` (${entry.id})` : ''}`;
    if (typeof entry?.id !== 'string' || !ID.test(entry.id)) problems.push(`${where}: "id" must be a GHSA id or a numeric npm advisory id`);
    else if (seen.has(entry.id)) problems.push(`${where}: listed twice`);
    else seen.add(entry.id);
    if (typeof entry?.reason !== 'string' || entry.reason.trim().length < 10) problems.push(`${where}: "reason" must say why the risk is accepted`);
    const expires = entry?.expires;
    if (typeof expires !== 'string' || !DAY.test(expires) || new Date(`${expires}T00:00:00Z`).toISOString().slice(0, 10) !== expires) {
      problems.push(`${where}: "expires" must be a date, YYYY-MM-DD`);
    }
    const extra = Object.keys(entry ?? {}).filter((k) => !['id', 'reason', 'expires'].includes(k));
    if (extra.length) problems.push(`${where}: unknown member(s) ${extra.join(', ')}`);
  });
  return { entries: problems.length ? [] : list, problems };
}

/**
 * Decides the gate.
 * @returns {{ failures: string[], allowed: string[], stale: string[] }}
 */
export function evaluate(advisories, entries, today) {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const failures = [];
  const allowed = [];
  for (const a of advisories) {
    const label = `${a.id} (${a.severity}) ${a.title ?? ''} in ${a.packages.join(', ')}`.replace(/\s+/g, ' ');
    const entry = byId.get(a.id);
    if (!entry) failures.push(`${label}: not allowlisted`);
    else if (entry.expires < today) failures.push(`${label}: allowlist entry expired on ${entry.expires}`);
    else allowed.push(`${label}: allowed until ${entry.expires} (${entry.reason})`);
  }
  const reported = new Set(advisories.map((a) => a.id));
  const stale = entries.filter((e) => !reported.has(e.id)).map((e) => `${e.id}: no longer reported; remove it from the allowlist`);
  return { failures, allowed, stale };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const raw = args.report ? readFileSync(args.report, 'utf8') : runNpmAudit();
  let report;
  try {
    report = JSON.parse(raw);
  } catch {
    report = { message: `npm audit printed no JSON: ${raw.slice(0, 200)}` };
  }
  const { entries, problems } = readAllowlist(JSON.parse(readFileSync(args.allowlist, 'utf8')));
  if (problems.length) {
    console.error(`audit: invalid allowlist ${path.relative(ROOT, args.allowlist) || args.allowlist}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  const found = blockingAdvisories(report);
  if (!found.available) {
    const message = `audit: UNAVAILABLE: npm could not get advisories (${found.reason}); no dependency was checked`;
    if (args.allowUnavailable) {
      console.warn(`${message}. Passing because of --allow-unavailable.`);
      return 0;
    }
    console.error(message);
    return 2;
  }
  const { failures, allowed, stale } = evaluate(found.advisories, entries, args.today);
  for (const line of allowed) console.log(`audit: allowed: ${line}`);
  for (const line of stale) console.warn(`audit: stale allowlist entry: ${line}`);
  if (failures.length) {
    console.error(`audit: FAILED: ${failures.length} high or critical advisories:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    return 1;
  }
  console.log(`audit: passed: ${found.advisories.length} high or critical advisories, all allowlisted (as of ${args.today})`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main();
  } catch (error) {
    console.error(`audit: ${error.message}`);
    process.exitCode = 1;
  }
}
