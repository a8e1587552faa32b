// Prometheus rule documents generated from the SLO spec (slos.ts). Pure
// functions: generate.ts writes their output, the tests read it back.
import type { Sli, Slo, SloSpec } from './slos';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: { summary: string; description: string; runbook_url: string };
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  name: string;
  rules: Rule[];
}

export interface RuleFile {
  groups: RuleGroup[];
}

/** Windows of the `slo:sli_error:ratio_rate*` recordings, the ones Sloth records. */
export const SLI_WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

/** One multiwindow alert condition: the error ratio over both windows exceeds `burnRate` x the budget. */
export interface BurnRateWindow {
  severity: 'page' | 'ticket';
  burnRate: number;
  long: SliWindow;
  short: SliWindow;
  /** Long window in minutes, for the budget-consumed arithmetic of the descriptions and tests. */
  longMinutes: number;
  shortMinutes: number;
}

/**
 * The multiwindow, multi-burn-rate table for a 30-day SLO: Google SRE workbook,
 * chapter 5 "Alerting on SLOs", section 6 (the recommended parameters: page at
 * 2% of the budget in 1 h or 5% in 6 h, ticket at 10% in 1 d or 10% in 3 d, each
 * with a short window of 1/12 of the long one), as Sloth generates them.
 */
export const BURN_RATE_WINDOWS: readonly BurnRateWindow[] = [
  { severity: 'page', burnRate: 14.4, long: '1h', short: '5m', longMinutes: 60, shortMinutes: 5 },
  { severity: 'page', burnRate: 6, long: '6h', short: '30m', longMinutes: 360, shortMinutes: 30 },
  { severity: 'ticket', burnRate: 3, long: '1d', short: '2h', longMinutes: 1440, shortMinutes: 120 },
  { severity: 'ticket', burnRate: 1, long: '3d', short: '6h', longMinutes: 4320, shortMinutes: 360 },
];

/** Where the runbook sections live; alert annotations link `RUNBOOK#<alert name, lower case>`. */
export const RUNBOOK = 'docs/runbooks.md';

/** The anchor a Markdown renderer gives the heading `## <alertName>` (GitHub slug rules). */
export function runbookUrl(alertName: string): string {
  return `${RUNBOOK}#${alertName
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-')}`;
}

/** Sloth's `sloth_id`: `<service>-<slo>`. */
export function sloId(spec: SloSpec, slo: Slo): string {
  return `${spec.service}-${slo.name}`;
}

/** `slo.objective` (percent) as a ratio, rounded so that 99.9 prints as 0.999 and not 0.9990000000000001. */
export function objectiveRatio(slo: Slo): number {
  return Number((slo.objective / 100).toPrecision(12));
}

/** The error budget `1 - objective` as a ratio, rounded as `objectiveRatio`. */
export function errorBudget(slo: Slo): number {
  return Number(((100 - slo.objective) / 100).toPrecision(12));
}

function matchers(...parts: string[]): string {
  const set = parts.filter((p) => p !== '');
  return set.length === 0 ? '' : `{${set.join(',')}}`;
}

/**
 * Name of the recording that is 1 while an SLI's oldest waiting event is
 * older than its threshold, else 0 (SLIs with `waiting` only): averaged over
 * a window it is the share of the window spent so.
 */
export function waitingOverRecord(sli: Sli): string {
  if (sli.kind !== 'over-threshold' || !sli.waiting) throw new Error('only an SLI with waiting events has this recording');
  return `shortener:${sli.waiting.age.replace(/^shortener_/, '').replace(/_seconds$/, '')}_over_threshold:bool`;
}

/**
 * Sloth's `sli.events`: the error and total event rates over `window`, whose
 * ratio is the SLI's error ratio. Events, not averaged ratios, so that every
 * pod's traffic weighs what it served.
 */
export function sliEventQueries(sli: Sli, window: string): { errors: string; total: string } {
  const total = `sum(rate(${sli.histogram}_count${matchers(sli.selector)}[${window}]))`;
  switch (sli.kind) {
    case 'server-errors':
      // A service that never failed has no 5xx series: count zero errors while it has traffic, not "no data".
      return { errors: `(sum(rate(${sli.histogram}_count${matchers(sli.selector, 'status_code=~"5.."')}[${window}])) or (0 * ${total}))`, total };
    case 'over-threshold': {
      // Good events are the `le` bucket; prom-client writes `le` as JavaScript prints the number.
      const good = `sum(rate(${sli.histogram}_bucket${matchers(sli.selector, `le="${String(sli.le)}"`)}[${window}]))`;
      if (!sli.waiting) return { errors: `(${total} - ${good})`, total };
      // A stopped consumer exports no histogram at all: its absence counts as no event, not as no data.
      const done = `(${total} or on () vector(0))`;
      const doneGood = `(${good} or on () vector(0))`;
      const late = `(sum(rate(${sli.waiting.arrivals}[${window}])) * on () avg_over_time(${waitingOverRecord(sli)}[${window}]) or on () vector(0))`;
      return { errors: `(${done} - ${doneGood} + ${late})`, total: `(${done} + ${late})` };
    }
  }
}

function sloLabels(spec: SloSpec, slo: Slo): Record<string, string> {
  return { sloth_id: sloId(spec, slo), sloth_service: spec.service, sloth_slo: slo.name };
}

function sloSelector(spec: SloSpec, slo: Slo): string {
  const l = sloLabels(spec, slo);
  return `{sloth_id="${l.sloth_id}", sloth_service="${l.sloth_service}", sloth_slo="${l.sloth_slo}"}`;
}

/**
 * The SLI recordings of one SLO, as Sloth names them (group
 * `sloth-slo-sli-recordings-<id>`): `slo:sli_error:ratio_rate<w>` for every
 * window of SLI_WINDOWS from events, and the period ratio
 * `slo:sli_error:ratio_rate<days>d` as the mean of the 5m ratio over the period
 * (Sloth's optimisation: a 30-day `rate` over raw series is too costly).
 */
export function sliRecordingGroup(spec: SloSpec, slo: Slo): RuleGroup {
  const labels = sloLabels(spec, slo);
  const waiting: RecordingRule[] =
    slo.sli.kind === 'over-threshold' && slo.sli.waiting
      ? [{ record: waitingOverRecord(slo.sli), expr: `(max(${slo.sli.waiting.age}) > bool ${slo.sli.le}) or on () vector(0)\n`, labels }]
      : [];
  const rules: RecordingRule[] = SLI_WINDOWS.map((window) => {
    const q = sliEventQueries(slo.sli, window);
    return {
      record: `slo:sli_error:ratio_rate${window}`,
      expr: `(${q.errors})\n/\n(${q.total})\n`,
      labels: { ...labels, sloth_window: window },
    };
  });
  const period = `${spec.timeWindowDays}d`;
  const sel = sloSelector(spec, slo);
  rules.push({
    record: `slo:sli_error:ratio_rate${period}`,
    expr:
      `sum_over_time(slo:sli_error:ratio_rate5m${sel}[${period}])\n` +
      `/ ignoring (sloth_window)\n` +
      `count_over_time(slo:sli_error:ratio_rate5m${sel}[${period}])\n`,
    labels: { ...labels, sloth_window: period },
  });
  return { name: `sloth-slo-sli-recordings-${sloId(spec, slo)}`, rules: [...waiting, ...rules] };
}

/**
 * The metadata recordings of one SLO, with Sloth's names (group
 * `sloth-slo-meta-recordings-<id>`): objective, error budget, period, current
 * (5m) and period burn rates, period error budget remaining, and
 * `sloth_slo_info`.
 */
export function metaRecordingGroup(spec: SloSpec, slo: Slo): RuleGroup {
  const labels = sloLabels(spec, slo);
  const sel = sloSelector(spec, slo);
  const period = `${spec.timeWindowDays}d`;
  const on = '/ on (sloth_id, sloth_slo, sloth_service) group_left';
  return {
    name: `sloth-slo-meta-recordings-${sloId(spec, slo)}`,
    rules: [
      { record: 'slo:objective:ratio', expr: `vector(${objectiveRatio(slo)})`, labels },
      { record: 'slo:error_budget:ratio', expr: `vector(${errorBudget(slo)})`, labels },
      { record: 'slo:time_period:days', expr: `vector(${spec.timeWindowDays})`, labels },
      {
        record: 'slo:current_burn_rate:ratio',
        expr: `slo:sli_error:ratio_rate5m${sel}\n${on}\nslo:error_budget:ratio${sel}\n`,
        labels,
      },
      {
        record: 'slo:period_burn_rate:ratio',
        expr: `slo:sli_error:ratio_rate${period}${sel}\n${on}\nslo:error_budget:ratio${sel}\n`,
        labels,
      },
      { record: 'slo:period_error_budget_remaining:ratio', expr: `1 - slo:period_burn_rate:ratio${sel}`, labels },
      { record: 'sloth_slo_info', expr: 'vector(1)', labels: { ...labels, sloth_objective: String(slo.objective) } },
    ],
  };
}

function burnCondition(spec: SloSpec, slo: Slo, w: BurnRateWindow): string {
  const sel = sloSelector(spec, slo);
  const threshold = `(${w.burnRate} * ${errorBudget(slo)})`;
  return (
    `(\n` +
    `  max(slo:sli_error:ratio_rate${w.short}${sel} > ${threshold}) without (sloth_window)\n` +
    `  and\n` +
    `  max(slo:sli_error:ratio_rate${w.long}${sel} > ${threshold}) without (sloth_window)\n` +
    `)`
  );
}

function percent(x: number): string {
  return `${Number(x.toPrecision(6))}%`;
}

/**
 * The page and ticket alerts of one SLO (group `sloth-slo-alerts-<id>`):
 * multiwindow, multi-burn-rate alerting of the SRE workbook, chapter 5 "Alerting
 * on SLOs", section 6, in Sloth's shape: one alert name, each severity the `or`
 * of its two window pairs, each pair the `and` of a long and a short window. No
 * `for:` clause: the short window already ends the alert soon after the burn
 * stops, and a `for:` would only delay detection (workbook, same section).
 */
export function alertGroup(spec: SloSpec, slo: Slo): RuleGroup {
  const labels = sloLabels(spec, slo);
  const periodMinutes = spec.timeWindowDays * 24 * 60;
  const rules: AlertingRule[] = (['page', 'ticket'] as const).map((severity) => {
    const windows = BURN_RATE_WINDOWS.filter((w) => w.severity === severity);
    const spent = windows
      .map(
        (w) => `${w.burnRate}x over both ${w.long} and ${w.short} (${percent((100 * w.burnRate * w.longMinutes) / periodMinutes)} of the budget in ${w.long})`,
      )
      .join(', or ');
    const exhausted = Math.max(...windows.map((w) => spec.timeWindowDays / w.burnRate));
    return {
      alert: slo.alerting.name,
      expr: `${windows.map((w) => burnCondition(spec, slo, w)).join('\nor\n')}\n`,
      labels: { ...slo.alerting.labels, severity, ...labels, sloth_severity: severity },
      annotations: {
        summary: `${slo.title} error budget is burning ${severity === 'page' ? 'fast' : 'steadily'}: ${slo.alerting.summary}`,
        description:
          `${slo.title} SLO (${slo.objective}% over ${spec.timeWindowDays} days) measures ${slo.alerting.meaning}. ` +
          `The error budget is burning at ${spent}: at that rate the ${spec.timeWindowDays}-day budget is gone ` +
          `in ${Number(exhausted.toPrecision(3))} days or less.`,
        runbook_url: runbookUrl(slo.alerting.name),
      },
    };
  });
  return { name: `sloth-slo-alerts-${sloId(spec, slo)}`, rules };
}

/** `deploy/prometheus/rules/slo-recording.yaml`: SLI groups then meta groups, one pair per SLO. */
export function recordingRuleFile(spec: SloSpec): RuleFile {
  return { groups: spec.slos.flatMap((slo) => [sliRecordingGroup(spec, slo), metaRecordingGroup(spec, slo)]) };
}

/** `deploy/prometheus/rules/slo-alerts.yaml`: one alert group per SLO. */
export function alertRuleFile(spec: SloSpec): RuleFile {
  return { groups: spec.slos.map((slo) => alertGroup(spec, slo)) };
}
