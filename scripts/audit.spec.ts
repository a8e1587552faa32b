import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The dependency audit gate, `scripts/audit.mjs`, run as CI runs it. npm's
 * audit endpoint is unreachable from this sandbox, so the gate is exercised
 * on sample reports in npm's audit report format (v2): one with three high
 * or critical advisories and a low one, and npm's answer when it gets no
 * advisories.
 */
const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts/audit.mjs');
const REPORT = path.join(ROOT, 'test/support/fixtures/npm-audit-report.sample.json');
const UNAVAILABLE = path.join(ROOT, 'test/support/fixtures/npm-audit-unavailable.sample.json');
const TODAY = '2026-11-29';
const IDS = { bodyParser: 'GHSA-qwcr-r2fm-qrc7', pathToRegexp: 'GHSA-9wv6-86v2-598j', formData: 'GHSA-fjxv-7rqg-78g4', cookieLow: 'GHSA-pxg6-pf52-xh8x' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

describe('scripts/audit.mjs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'audit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  let n = 0;
  async function gate(advisories: unknown[], report = REPORT, extra: string[] = []): Promise<Run> {
    n += 1;
    const file = path.join(dir, `allowlist-${n}.json`);
    await writeFile(file, JSON.stringify({ advisories }));
    return run(['--report', report, '--allowlist', file, '--today', TODAY, ...extra]);
  }
  const entry = (id: string, expires: string) => ({ id, reason: 'only reachable from the admin CLI, not from the API', expires });

  it('fails on every high and critical advisory that is not allowlisted, once per advisory, ignoring lower ones', async () => {
    const result = await gate([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      [
        'audit: FAILED: 3 high or critical advisories:',
        `  - ${IDS.pathToRegexp} (high) path-to-regexp outputs backtracking regular expressions in path-to-regexp@<0.1.10: not allowlisted`,
        `  - ${IDS.formData} (critical) form-data uses unsafe random function for choosing boundary in form-data@>=4.0.0 <4.0.4: not allowlisted`,
        `  - ${IDS.bodyParser} (high) body-parser vulnerable to denial of service when url encoding is enabled in body-parser@<1.20.3: not allowlisted`,
        '',
      ].join('\n'),
    );
  });

  it('passes when every blocking advisory is allowlisted and unexpired; an entry is valid through its expiry day', async () => {
    const result = await gate([entry(IDS.bodyParser, TODAY), entry(IDS.pathToRegexp, '2027-01-31'), entry(IDS.formData, '2026-12-01')]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      `audit: allowed: ${IDS.pathToRegexp} (high) path-to-regexp outputs backtracking regular expressions in path-to-regexp@<0.1.10: allowed until 2027-01-31 (only reachable from the admin CLI, not from the API)`,
      `audit: allowed: ${IDS.formData} (critical) form-data uses unsafe random function for choosing boundary in form-data@>=4.0.0 <4.0.4: allowed until 2026-12-01 (only reachable from the admin CLI, not from the API)`,
      `audit: allowed: ${IDS.bodyParser} (high) body-parser vulnerable to denial of service when url encoding is enabled in body-parser@<1.20.3: allowed until ${TODAY} (only reachable from the admin CLI, not from the API)`,
      `audit: passed: 3 high or critical advisories, all allowlisted (as of ${TODAY})`,
    ]);
  });

  it('fails on an advisory whose allowlist entry has expired', async () => {
    const result = await gate([entry(IDS.bodyParser, '2026-11-28'), entry(IDS.pathToRegexp, '2027-01-31'), entry(IDS.formData, '2027-01-31')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('audit: FAILED: 1 high or critical advisories:\n');
    expect(result.stderr).toContain(
      `  - ${IDS.bodyParser} (high) body-parser vulnerable to denial of service when url encoding is enabled in body-parser@<1.20.3: allowlist entry expired on 2026-11-28\n`,
    );
  });

  it('warns about entries whose advisory is no longer reported, without failing', async () => {
    const result = await gate([
      entry(IDS.bodyParser, '2027-01-31'),
      entry(IDS.pathToRegexp, '2027-01-31'),
      entry(IDS.formData, '2027-01-31'),
      entry('GHSA-xxxx-xxxx-xxxx', '2027-01-31'),
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('audit: stale allowlist entry: GHSA-xxxx-xxxx-xxxx: no longer reported; remove it from the allowlist\n');
  });

  it('refuses an allowlist entry without an id, a reason or a valid expiry date', async () => {
    const result = await gate([
      { id: IDS.bodyParser, reason: 'because', expires: '2027-01-31' },
      { id: 'CVE-2024-1', reason: 'a long enough reason', expires: '2027-01-31' },
      { id: IDS.formData, reason: 'a long enough reason', expires: '2027-02-30' },
      { id: IDS.formData, reason: 'a long enough reason', expires: '2027-01-31', owner: 'me' },
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^audit: invalid allowlist /),
      `  - advisories[0] (${IDS.bodyParser}): "reason" must say why the risk is accepted`,
      '  - advisories[1] (CVE-2024-1): "id" must be a GHSA id or a numeric npm advisory id',
      `  - advisories[2] (${IDS.formData}): "expires" must be a date, YYYY-MM-DD`,
      `  - advisories[3] (${IDS.formData}): listed twice`,
      `  - advisories[3] (${IDS.formData}): unknown member(s) owner`,
    ]);
  });

  it('reports clearly when npm cannot get advisories: exit 2, or 0 with a warning under --allow-unavailable', async () => {
    const strict = await gate([], UNAVAILABLE);
    const lenient = await gate([], UNAVAILABLE, ['--allow-unavailable']);
    const message = 'audit: UNAVAILABLE: npm could not get advisories (405 Method Not Allowed - POST <audit endpoint>); no dependency was checked';
    expect([strict.code, strict.stderr]).toEqual([2, `${message}\n`]);
    expect([lenient.code, lenient.stderr]).toEqual([0, `${message}. Passing because of --allow-unavailable.\n`]);
  });

  it("the repository's audit-allowlist.json is valid", async () => {
    const clean = path.join(dir, 'clean-report.json');
    await writeFile(clean, JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: {} }));
    const result = await run(['--report', clean, '--today', TODAY]);
    expect({ code: result.code, stderr: result.stderr.replace(/^audit: stale allowlist entry: .*\n/gm, '') }).toEqual({ code: 0, stderr: '' });
  });
});
