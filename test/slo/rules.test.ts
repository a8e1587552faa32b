// The generated Prometheus rules: promtool accepts them, their promtool unit
// tests pass (and fail when a window is wrong), every alert is documented.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensurePrometheus } from '../../deploy/local/prometheus';
import { REPO_ROOT } from '../../deploy/slo/files';
import { SCENARIOS, firstFiringMinute } from '../../deploy/slo/rule-tests';
import type { AlertingRule, RuleFile } from '../../deploy/slo/rules';
import { limited, run } from './support/exec';

const RULES = join(REPO_ROOT, 'deploy/prometheus/rules');
const TESTS = join(REPO_ROOT, 'deploy/prometheus/tests');
const ruleFile = (name: string) => parse(readFileSync(join(RULES, name), 'utf8')) as RuleFile;
const alerts = () => ['slo-alerts.yaml', 'operational-alerts.yaml'].flatMap((f) => ruleFile(f).groups.flatMap((g) => g.rules as AlertingRule[]));

// Installs Debian's prometheus package on a fresh machine (apt-get can take minutes).
beforeAll(() => {
  ensurePrometheus();
}, 600_000);

describe('promtool check rules', () => {
  it.each([
    ['slo-recording.yaml', 61],
    ['slo-alerts.yaml', 8],
    ['operational-alerts.yaml', 7],
  ])('%s is valid with %i rules', async (file, count) => {
    const r = await run('promtool', ['check', 'rules', join(RULES, file)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`Checking ${join(RULES, file)}\n  SUCCESS: ${count} rules found\n\n`);
    expect(r.code).toBe(0);
  });

  it('the rule files are exactly these three, and the chart ships identical copies', () => {
    const files = readdirSync(RULES).sort();
    expect(files).toEqual(['operational-alerts.yaml', 'slo-alerts.yaml', 'slo-recording.yaml']);
    for (const f of files) expect(readFileSync(join(REPO_ROOT, 'charts/shortener/files/rules', f), 'utf8')).toBe(readFileSync(join(RULES, f), 'utf8'));
  });
});

describe('Sloth-compatible recordings', () => {
  it('records every slo:* series of Sloth for each SLO, with the sloth labels', () => {
    const groups = ruleFile('slo-recording.yaml').groups;
    expect(groups.map((g) => g.name)).toEqual(
      ['redirect-availability', 'redirect-latency', 'api-availability', 'click-freshness'].flatMap((s) => [
        `sloth-slo-sli-recordings-shortener-${s}`,
        `sloth-slo-meta-recordings-shortener-${s}`,
      ]),
    );
    const sli = groups[0].rules.map((r) => ('record' in r ? `${r.record} ${r.labels?.sloth_window}` : ''));
    expect(sli).toEqual(['5m', '30m', '1h', '2h', '6h', '1d', '3d', '30d'].map((w) => `slo:sli_error:ratio_rate${w} ${w}`));
    expect(groups[1].rules.map((r) => ('record' in r ? r.record : ''))).toEqual([
      'slo:objective:ratio',
      'slo:error_budget:ratio',
      'slo:time_period:days',
      'slo:current_burn_rate:ratio',
      'slo:period_burn_rate:ratio',
      'slo:period_error_budget_remaining:ratio',
      'sloth_slo_info',
    ]);
    expect(groups[1].rules.slice(0, 3).map((r) => r.expr)).toEqual(['vector(0.999)', 'vector(0.001)', 'vector(30)']);
    for (const g of groups) {
      for (const r of g.rules) {
        const slo = g.name.replace(/^sloth-slo-(sli|meta)-recordings-shortener-/, '');
        expect(r.labels).toMatchObject({ sloth_id: `shortener-${slo}`, sloth_service: 'shortener', sloth_slo: slo });
      }
    }
  });

  it('derives each SLI from the metric names of libs/observability', () => {
    const exprs = ruleFile('slo-recording.yaml').groups.flatMap((g) =>
      g.rules.filter((r) => 'record' in r && r.record === 'slo:sli_error:ratio_rate5m').map((r) => r.expr),
    );
    expect(exprs).toEqual([
      '((sum(rate(http_server_request_duration_seconds_count{route="/:code",status_code=~"5.."}[5m])) or (0 * sum(rate(http_server_request_duration_seconds_count{route="/:code"}[5m])))))\n/\n(sum(rate(http_server_request_duration_seconds_count{route="/:code"}[5m])))\n',
      '((sum(rate(http_server_request_duration_seconds_count{route="/:code"}[5m])) - sum(rate(http_server_request_duration_seconds_bucket{route="/:code",le="0.05"}[5m]))))\n/\n(sum(rate(http_server_request_duration_seconds_count{route="/:code"}[5m])))\n',
      '((sum(rate(http_server_request_duration_seconds_count{route=~"/api/.*",status_code=~"5.."}[5m])) or (0 * sum(rate(http_server_request_duration_seconds_count{route=~"/api/.*"}[5m])))))\n/\n(sum(rate(http_server_request_duration_seconds_count{route=~"/api/.*"}[5m])))\n',
      // Clicks arriving while the oldest waiting one is over 60 s old count as late: a stalled worker commits none.
      '(((sum(rate(shortener_click_ingest_lag_seconds_count[5m])) or on () vector(0)) - (sum(rate(shortener_click_ingest_lag_seconds_bucket{le="60"}[5m])) or on () vector(0)) + (sum(rate(shortener_clicks_recorded_total[5m])) * on () avg_over_time(shortener:click_oldest_waiting_over_threshold:bool[5m]) or on () vector(0))))\n/\n(((sum(rate(shortener_click_ingest_lag_seconds_count[5m])) or on () vector(0)) + (sum(rate(shortener_clicks_recorded_total[5m])) * on () avg_over_time(shortener:click_oldest_waiting_over_threshold:bool[5m]) or on () vector(0))))\n',
    ]);
    const waiting = ruleFile('slo-recording.yaml').groups.flatMap((g) => g.rules.filter((r) => 'record' in r && r.record.startsWith('shortener:')));
    expect(waiting).toEqual([
      {
        record: 'shortener:click_oldest_waiting_over_threshold:bool',
        expr: '(max(shortener_click_oldest_waiting_seconds) > bool 60) or on () vector(0)\n',
        labels: { sloth_id: 'shortener-click-freshness', sloth_service: 'shortener', sloth_slo: 'click-freshness' },
      },
    ]);
  });
});

describe('burn-rate alerts', () => {
  it('page and ticket rules per SLO, with the workbook windows and factors', () => {
    const slo = alerts().filter((a) => a.labels.sloth_severity !== undefined);
    expect(slo.map((a) => `${a.alert} ${a.labels.severity}`)).toEqual(
      ['RedirectAvailability', 'RedirectLatency', 'ApiAvailability', 'ClickFreshness'].flatMap((n) => [
        `Shortener${n}BudgetBurn page`,
        `Shortener${n}BudgetBurn ticket`,
      ]),
    );
    const windows = (a: AlertingRule) => [...a.expr.matchAll(/ratio_rate(\w+)\{[^}]*\} > \(([\d.]+) \* ([\d.]+)\)/g)].map((m) => `${m[1]}>${m[2]}*${m[3]}`);
    expect(windows(slo[0])).toEqual(['5m>14.4*0.001', '1h>14.4*0.001', '30m>6*0.001', '6h>6*0.001']);
    expect(windows(slo[1])).toEqual(['2h>3*0.001', '1d>3*0.001', '6h>1*0.001', '3d>1*0.001']);
    expect(windows(slo[2])).toEqual(['5m>14.4*0.01', '1h>14.4*0.01', '30m>6*0.01', '6h>6*0.01']);
    expect(windows(slo[4])).toEqual(['5m>14.4*0.005', '1h>14.4*0.005', '30m>6*0.005', '6h>6*0.005']);
    expect(slo[7].labels).toEqual({
      category: 'freshness',
      severity: 'ticket',
      sloth_id: 'shortener-click-freshness',
      sloth_service: 'shortener',
      sloth_slo: 'click-freshness',
      sloth_severity: 'ticket',
    });
  });

  it('computes the first firing minute of each scenario as worked out by hand', () => {
    // 17x: 1h window > 14.4x after 60*14.4/17 = 50.8 min -> evaluation at 55; 1d > 3x after 1440*3/17 = 254.1 -> 255.
    // 7x: 6h > 6x after 360*6/7 = 308.6 -> 310; 1d > 3x after 617.1 -> 620. 3.5x: 1234.3 -> 1235. 1.7x: 3d > 1x after 2541.2 -> 2545.
    expect(SCENARIOS.map((s) => [s.name, firstFiringMinute(s, 'page'), firstFiringMinute(s, 'ticket')])).toEqual([
      ['burn-17x', 55, 255],
      ['burn-7x', 310, 620],
      ['burn-3.5x', null, 1235],
      ['burn-1.7x', null, 2545],
      ['healthy-0.9x', null, null],
    ]);
  });

  it('refuses a burn rate whose crossing falls on an evaluation', () => {
    // 60 min * 14.4 / 17.28 = 50 min, exactly the 10th evaluation.
    expect(() => firstFiringMinute({ name: 'x', burnRate: 17.28, baselineMinutes: 4320 }, 'page')).toThrow('the 1h window crosses on an evaluation');
  });
});

describe('promtool test rules', () => {
  const files = readdirSync(TESTS)
    .filter((f) => f.endsWith('.test.yaml'))
    .sort();

  it('has a test file per scenario, one for the operational alerts and one for a stalled click pipeline', () => {
    expect(files).toEqual([
      'click-freshness-stall.test.yaml',
      'operational-alerts.test.yaml',
      'slo-burn-1.7x.test.yaml',
      'slo-burn-17x.test.yaml',
      'slo-burn-3.5x.test.yaml',
      'slo-burn-7x.test.yaml',
      'slo-healthy-0.9x.test.yaml',
    ]);
  });

  it('every test file passes', async () => {
    const results = await limited(
      2,
      files.map((f) => () => run('promtool', ['test', 'rules', f], { cwd: TESTS, timeoutMs: 600_000 })),
    );
    results.forEach((r, i) => {
      expect({ file: files[i], code: r.code, out: r.stdout, err: r.stderr }).toEqual({
        file: files[i],
        code: 0,
        out: `Unit Testing:  ${files[i]}\n  SUCCESS\n\n`,
        err: '',
      });
    });
  }, 900_000);

  it('fail when the page alert reads the wrong long window', async () => {
    // The 17x scenario pins the page to the 1h window; reading 2h instead must
    // move the page later than the test expects.
    const dir = mkdtempSync(join(tmpdir(), 'slo-mutant-'));
    try {
      cpSync(join(REPO_ROOT, 'deploy/prometheus'), dir, { recursive: true });
      const alertsFile = join(dir, 'rules/slo-alerts.yaml');
      writeFileSync(alertsFile, readFileSync(alertsFile, 'utf8').replaceAll('slo:sli_error:ratio_rate1h{', 'slo:sli_error:ratio_rate2h{'));
      const r = await run('promtool', ['test', 'rules', 'slo-burn-17x.test.yaml'], { cwd: join(dir, 'tests'), timeoutMs: 600_000 });
      expect(r.code).toBe(1);
      // promtool reports failures on stderr: expected the page at 3d55m, got no alert.
      expect(r.stderr).toMatch(
        /alertname: ShortenerRedirectAvailabilityBudgetBurn, time: 3d55m, \n\s+exp:\[\n\s+0:\n\s+Labels:\{[^}]*severity="page"[^}]*\}\n[^\n]*\n\s+\], \n\s+got:\[\]/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);
});

describe('runbooks', () => {
  const runbooks = readFileSync(join(REPO_ROOT, 'docs/runbooks.md'), 'utf8');
  const sections = new Map(
    runbooks
      .split(/^## /m)
      .slice(1)
      .map((s) => [s.slice(0, s.indexOf('\n')), s] as const),
  );

  it('every alert has a summary, a description and a runbook_url to its own section', () => {
    const names = [...new Set(alerts().map((a) => a.alert))];
    expect(names).toEqual([
      'ShortenerRedirectAvailabilityBudgetBurn',
      'ShortenerRedirectLatencyBudgetBurn',
      'ShortenerApiAvailabilityBudgetBurn',
      'ShortenerClickFreshnessBudgetBurn',
      'ShortenerTargetDown',
      'ShortenerTargetMissing',
      'ShortenerQueueStuck',
      'ShortenerClickIngestLagGrowing',
      'ShortenerClicksDropped',
      'ShortenerClickQueueGrowing',
    ]);
    // One section per alert, in the rules' order; then the situations no alert names.
    expect([...sections.keys()]).toEqual([...names, 'Pods unready at start: a dependency not reached']);
    for (const a of alerts()) {
      expect(Object.keys(a.annotations)).toEqual(['summary', 'description', 'runbook_url']);
      expect(a.annotations.summary.length).toBeGreaterThan(20);
      expect(a.annotations.description.length).toBeGreaterThan(80);
      expect(a.annotations.runbook_url).toBe(`docs/runbooks.md#${a.alert.toLowerCase()}`);
    }
  });

  it('each section says what it means, the impact, how to diagnose with PromQL, and how to mitigate', () => {
    for (const [name, body] of sections) {
      const headings = [...body.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
      expect({ name, headings }).toEqual({ name, headings: ['Meaning', 'Impact', 'Diagnosis', 'Mitigation'] });
      expect({ name, promql: body.includes('```promql') }).toEqual({ name, promql: true });
    }
  });
});
