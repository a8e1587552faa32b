// SLO overview: for every SLO of deploy/slo/slos.ts, the SLI against its
// objective, the error budget left, the burn rate per alert window, and the
// state of the alerts. Reads only the Sloth-compatible recordings.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { BURN_RATE_WINDOWS, SLI_WINDOWS, objectiveRatio, sloId } from '../../slo/rules';
import { SPEC, type Slo, type SloSpec } from '../../slo/slos';
import { baseDashboard, stateTimelinePanel, statPanel, tablePanel, timeseriesPanel } from './common';

export const UID = 'shortener-slo-overview';

function selector(spec: SloSpec, slo: Slo): string {
  return `{sloth_id="${sloId(spec, slo)}", sloth_service="${spec.service}", sloth_slo="${slo.name}"}`;
}

function burnRate(window: string, sel: string): string {
  return `slo:sli_error:ratio_rate${window}${sel} / on (sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio${sel}`;
}

function sloRow(spec: SloSpec, slo: Slo, b: dashboard.DashboardBuilder): void {
  const sel = selector(spec, slo);
  const period = `${spec.timeWindowDays}d`;
  const objective = objectiveRatio(slo);
  b.withRow(new dashboard.RowBuilder(`${slo.title}: ${slo.objective}% over ${spec.timeWindowDays} days`));
  b.withPanel(
    statPanel(
      `SLI, ${spec.timeWindowDays} days`,
      { expr: `1 - slo:sli_error:ratio_rate${period}${sel}` },
      {
        description: `Good events / all events over the SLO period; red below the objective (${slo.objective}%).`,
        unit: 'percentunit',
        decimals: 3,
        base: 'red',
        steps: [{ value: objective, color: 'green' }],
      },
    ),
  );
  b.withPanel(statPanel('Objective', { expr: `slo:objective:ratio${sel}` }, { unit: 'percentunit', decimals: 3 }));
  b.withPanel(
    statPanel(
      `Error budget left, ${spec.timeWindowDays} days`,
      { expr: `slo:period_error_budget_remaining:ratio${sel}` },
      {
        description: 'Share of the period error budget not yet spent; below 0 the SLO is missed.',
        unit: 'percentunit',
        decimals: 1,
        base: 'red',
        steps: [
          { value: 0, color: 'orange' },
          { value: 0.25, color: 'green' },
        ],
      },
    ),
  );
  b.withPanel(
    statPanel(
      'Burn rate, 1 h',
      { expr: burnRate('1h', sel) },
      {
        description: 'Multiple of the rate that spends exactly the budget in the period; pages above 14.4 (with 5 min).',
        decimals: 2,
        base: 'green',
        steps: [
          { value: 1, color: 'orange' },
          { value: 14.4, color: 'red' },
        ],
      },
    ),
  );
  b.withPanel(
    statPanel(
      'Budget spent in range',
      {
        expr: `avg_over_time(slo:sli_error:ratio_rate5m${sel}[$__range]) / on (sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio${sel} * $__range_s / ${spec.timeWindowDays * 86400}`,
      },
      {
        description: 'Share of the period budget spent during the dashboard time range (mean 5 min error ratio over the range).',
        unit: 'percentunit',
        decimals: 2,
      },
    ),
  );
  b.withPanel(
    statPanel(
      'Alerts firing',
      { expr: `count(ALERTS{alertname="${slo.alerting.name}", alertstate="firing"}) or vector(0)` },
      {
        description: 'Page and ticket rules of this SLO that are firing.',
        base: 'green',
        steps: [{ value: 1, color: 'red' }],
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'SLI against objective',
      [
        { expr: `1 - slo:sli_error:ratio_rate5m${sel}`, legend: 'SLI, 5 min' },
        { expr: `1 - slo:sli_error:ratio_rate1h${sel}`, legend: 'SLI, 1 h' },
        { expr: `slo:objective:ratio${sel}`, legend: 'objective' },
      ],
      { unit: 'percentunit', decimals: 3, max: 1 },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Burn rate per window',
      [...SLI_WINDOWS, period].map((w) => ({ expr: burnRate(w, sel), legend: w })),
      {
        description: 'Dashed lines: the burn rates of the alert windows (SRE workbook): 14.4 and 6 page, 3 and 1 ticket.',
        decimals: 2,
        thresholdLines: [...new Set(BURN_RATE_WINDOWS.map((w) => w.burnRate))].sort((a, c) => a - c),
      },
    ),
  );
}

/** The SLO overview dashboard, one row per SLO of `spec`. */
export function sloOverview(spec: SloSpec = SPEC): dashboard.DashboardBuilder {
  const b = baseDashboard(UID, 'Shortener / SLO overview', 'SLIs, error budgets and burn rates of the shortener SLOs (generated from deploy/slo/slos.ts).');
  b.time({ from: 'now-7d', to: 'now' });
  for (const slo of spec.slos) sloRow(spec, slo, b);
  b.withRow(new dashboard.RowBuilder('Alerts'));
  b.withPanel(
    stateTimelinePanel(
      'Alert state',
      [{ expr: 'max by (alertname, severity) (ALERTS{alertname=~"Shortener.*", alertstate="firing"})', legend: '{{alertname}} ({{severity}})' }],
      { description: 'Firing shortener alerts over time, by alert and severity.', base: 'green', steps: [{ value: 1, color: 'red' }] },
    ),
  );
  b.withPanel(
    tablePanel('Alerts now', { expr: 'ALERTS{alertname=~"Shortener.*"}' }, { description: 'Pending and firing shortener alerts with all their labels.' }),
  );
  return b;
}
