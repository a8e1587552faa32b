// The query extraction of the live test: every panel target with Grafana's
// variables expanded and every rule expression; each parses (promtool).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ensurePrometheus } from '../../deploy/local/prometheus';
import { REPO_ROOT } from '../../deploy/slo/files';
import { collectQueries, dashboardQueries, expandVariables, grafanaExpansion, variableValues } from '../../deploy/slo/queries';
import { run } from './support/exec';

// Installs Debian's prometheus package on a fresh machine (apt-get can take minutes).
beforeAll(() => {
  ensurePrometheus();
}, 600_000);

describe(grafanaExpansion.name, () => {
  it('gives $__rate_interval four scrape intervals, or one interval plus one scrape if longer', () => {
    expect(grafanaExpansion(1, 3600)).toEqual({ intervalSeconds: 1, rateIntervalSeconds: 4, rangeSeconds: 3600 });
    expect(grafanaExpansion(15, 21600, 60)).toEqual({ intervalSeconds: 60, rateIntervalSeconds: 75, rangeSeconds: 21600 });
  });
});

describe(expandVariables.name, () => {
  const e = grafanaExpansion(15, 3600);

  it('expands built-ins and dashboard variables in every Grafana syntax', () => {
    expect(
      expandVariables(
        'rate(x{a=~"$route",b="${queue}",c="${queue:regex}",d="[[queue]]"}[$__rate_interval]) * $__range_s + $__interval_ms + increase(y[$__interval]) + z[$__range]',
        e,
        { route: '.*', queue: 'clicks' },
      ),
    ).toBe('rate(x{a=~".*",b="clicks",c="clicks",d="clicks"}[60s]) * 3600 + 15000 + increase(y[15s]) + z[3600s]');
  });

  it('lets the caller override a variable and keeps a regex end anchor', () => {
    expect(expandVariables('x{r=~"/api/.*$"} and y{q=~"$queue"}', { ...e, variables: { queue: 'maintenance' } }, { queue: '.*' })).toBe(
      'x{r=~"/api/.*$"} and y{q=~"maintenance"}',
    );
  });

  it('refuses a variable it does not know', () => {
    expect(() => expandVariables('x{a="$nope"}', e, {})).toThrow('unknown variable $nope in x{a="$nope"}');
  });
});

describe(variableValues.name, () => {
  it('uses allValue for "All", the current value of a custom variable, and skips datasources', () => {
    expect(
      variableValues([
        { type: 'datasource', name: 'datasource', query: 'prometheus' },
        { type: 'query', name: 'route', includeAll: true, allValue: '.*', current: { value: ['$__all'] } },
        { type: 'custom', name: 'quantile', current: { value: '0.99' } },
      ]),
    ).toEqual({ route: '.*', quantile: '0.99' });
    expect(() => variableValues([{ type: 'query', name: 'q', includeAll: true }])).toThrow('variable q: no value to expand it with');
  });
});

describe(dashboardQueries.name, () => {
  it('walks rows, skips targets without expr (Jaeger) and marks alert-state queries parse-only', () => {
    const json = {
      uid: 'd',
      templating: { list: [{ type: 'query', name: 'job', includeAll: true, allValue: '.*' }] },
      panels: [
        { type: 'row', title: 'r', panels: [{ type: 'stat', title: 'inner', targets: [{ refId: 'A', expr: 'up{job=~"$job"}', instant: true }] }] },
        // A row's own panels follow it when it is expanded.
        { type: 'table', title: 'traces', targets: [{ refId: 'A' }] },
        {
          type: 'timeseries',
          title: 'alerts',
          targets: [
            { refId: 'A', expr: 'ALERTS' },
            { refId: 'B', expr: 'absent(up)' },
          ],
        },
      ],
    };
    expect(dashboardQueries(json, grafanaExpansion(1, 60))).toEqual([
      { source: 'd / r / inner / A', kind: 'panel', expr: 'up{job=~".*"}', instant: true, expectsData: true },
      { source: 'd / r / alerts / A', kind: 'panel', expr: 'ALERTS', instant: false, expectsData: false },
      { source: 'd / r / alerts / B', kind: 'panel', expr: 'absent(up)', instant: false, expectsData: false },
    ]);
  });
});

describe(collectQueries.name, () => {
  const queries = collectQueries(REPO_ROOT, grafanaExpansion(1, 3600));

  it('collects every panel query of the five dashboards and every rule', () => {
    const count = (f: (q: (typeof queries)[number]) => boolean) => queries.filter(f).length;
    expect({
      panels: count((q) => q.kind === 'panel'),
      recordings: count((q) => q.kind === 'recording'),
      alerts: count((q) => q.kind === 'alert'),
      dashboards: [...new Set(queries.filter((q) => q.kind === 'panel').map((q) => q.source.split(' / ')[0]))],
    }).toEqual({
      // API RED 13, redirect cache 12, runtime 13, SLO overview 17 per SLO + 2, worker 16.
      panels: 124,
      recordings: 61,
      alerts: 15,
      dashboards: ['shortener-api-red', 'shortener-redirect-cache', 'shortener-runtime', 'shortener-slo-overview', 'shortener-worker-queues'],
    });
  });

  it('leaves no variable unexpanded', () => {
    expect(queries.filter((q) => q.expr.includes('$') && !/"[^"]*\$"/.test(q.expr))).toEqual([]);
  });

  it('expands $__rate_interval, $__interval, $__range and the dashboard variables', () => {
    const bySource = new Map(queries.map((q) => [q.source, q.expr]));
    expect(bySource.get('shortener-api-red / Rate / Requests by route / A')).toBe(
      'sum by (route) (rate(http_server_request_duration_seconds_count{route=~".*"}[4s]))',
    );
    expect(bySource.get('shortener-api-red / Rate / Responses per interval by method / A')).toBe(
      'sum by (method) (rate(http_server_request_duration_seconds_count{route=~".*"}[4s])) * 1000 / 1000',
    );
    expect(bySource.get('shortener-redirect-cache / Summary / Redirects in range / A')).toBe('sum(increase(shortener_redirects_total[3600s]))');
    expect(bySource.get('shortener-runtime / Event loop / CPU / A')).toBe('rate(process_cpu_seconds_total{job=~".*", instance=~".*"}[4s])');
    expect(bySource.get('shortener-slo-overview / Redirect availability: 99.9% over 30 days / Budget spent in range / A')).toBe(
      'avg_over_time(slo:sli_error:ratio_rate5m{sloth_id="shortener-redirect-availability", sloth_service="shortener", sloth_slo="redirect-availability"}[3600s])' +
        ' / on (sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio{sloth_id="shortener-redirect-availability", sloth_service="shortener", sloth_slo="redirect-availability"}' +
        ' * 3600 / 2592000',
    );
  });

  it('checks alert state, absent() and alert conditions for parsing only', () => {
    const parseOnly = queries.filter((q) => !q.expectsData);
    expect(parseOnly.filter((q) => q.kind === 'panel').map((q) => q.source)).toEqual([
      'shortener-slo-overview / Redirect availability: 99.9% over 30 days / Alerts firing / A',
      'shortener-slo-overview / Redirect latency: 99% over 30 days / Alerts firing / A',
      'shortener-slo-overview / API availability: 99.5% over 30 days / Alerts firing / A',
      'shortener-slo-overview / Click freshness: 99% over 30 days / Alerts firing / A',
      'shortener-slo-overview / Alerts / Alert state / A',
      'shortener-slo-overview / Alerts / Alerts now / A',
    ]);
    expect(parseOnly.filter((q) => q.kind !== 'panel')).toHaveLength(15);
    expect(parseOnly.every((q) => q.kind !== 'recording')).toBe(true);
  });

  it('every query parses (promtool reads each as a recording rule)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slo-queries-'));
    try {
      const file = join(dir, 'queries.yaml');
      writeFileSync(file, stringify({ groups: [{ name: 'queries', rules: queries.map((q, i) => ({ record: `query_${i}`, expr: q.expr })) }] }));
      const r = await run('promtool', ['check', 'rules', file]);
      expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({
        code: 0,
        stdout: `Checking ${file}\n  SUCCESS: ${queries.length} rules found\n\n`,
        stderr: '',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
