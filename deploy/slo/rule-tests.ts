// promtool unit tests (`promtool test rules`) of the burn-rate alerts,
// generated so that every SLO of slos.ts is covered the same way. Each file is
// one scenario in which every SLO burns at the same multiple of its own budget.
import { METRICS } from '../../libs/observability/src/metrics/metric-names';
import { type AlertingRule, BURN_RATE_WINDOWS, type RuleFile, alertGroup, errorBudget, sloId } from './rules';
import type { Slo, SloSpec } from './slos';

/** Minutes of healthy traffic before a burn starts: the longest alert window (3 d), so every window is full. */
export const BASELINE_MINUTES = 3 * 24 * 60;
/** Events per minute of each SLI: 10000 keeps every error count whole for budgets down to 0.1%. */
export const EVENTS_PER_MINUTE = 10_000;
/**
 * Sample and evaluation interval of the tests. 5 minutes, the shortest alert
 * window, so each window still holds at least two samples: promtool evaluates
 * every rule at every step up to the last check, and at 1 minute the 3-day
 * windows cost minutes of CPU per scenario.
 */
export const STEP_MINUTES = 5;

export interface Scenario {
  /** File name part. */
  name: string;
  /** Error rate as a multiple of each SLO's budget rate. */
  burnRate: number;
  /** Healthy minutes before the burn; 0: the burn runs from the first sample. */
  baselineMinutes: number;
}

/**
 * Each burn rate just above one threshold of the workbook table and below the
 * next, so that exactly one window pair decides when its severity fires
 * (checked by the tests against hand-computed minutes). Rates whose crossing
 * would fall on an evaluation are refused by `firstFiringMinute` (the
 * comparison would be between two equal floats). The healthy service spends
 * 90% of its budget, from the first sample so that every window holds it.
 */
export const SCENARIOS: readonly Scenario[] = [
  { name: 'burn-17x', burnRate: 17, baselineMinutes: BASELINE_MINUTES },
  { name: 'burn-7x', burnRate: 7, baselineMinutes: BASELINE_MINUTES },
  { name: 'burn-3.5x', burnRate: 3.5, baselineMinutes: BASELINE_MINUTES },
  { name: 'burn-1.7x', burnRate: 1.7, baselineMinutes: BASELINE_MINUTES },
  { name: 'healthy-0.9x', burnRate: 0.9, baselineMinutes: 0 },
];

/** Label sets of test series that each SLI selector of slos.ts matches. */
const SAMPLE_LABELS: Record<string, Record<string, string>> = {
  'route="/:code"': { method: 'GET', route: '/:code' },
  'route=~"/api/.*"': { method: 'POST', route: '/api/v1/links' },
  '': {},
};

/**
 * The first evaluation (a multiple of STEP_MINUTES) after a burn starts at which
 * `severity` fires, in minutes, or null. After a full baseline without errors,
 * the error ratio over a window of W minutes at minute m of a burn at
 * `burnRate` x the budget rate b is burnRate * b * min(m, W) / W; a window pair
 * (long L, short S, threshold X) holds once both exceed X * b, that is from the
 * first m > X * L / burnRate (the long window is the later one), and never when
 * burnRate <= X (SRE workbook, chapter 5, section 6). Without a baseline every
 * window holds burnRate * b from the first rate, at minute STEP_MINUTES.
 *
 * Exact for Prometheus 2.x range selectors, which include the sample at the
 * window's start: the evaluations, the samples and every window are aligned on
 * STEP_MINUTES, so `rate` needs no extrapolation.
 */
export function firstFiringMinute(scenario: Scenario, severity: 'page' | 'ticket'): number | null {
  const pairs = BURN_RATE_WINDOWS.filter((w) => w.severity === severity && scenario.burnRate > w.burnRate);
  if (pairs.length === 0) return null;
  if (scenario.baselineMinutes === 0) return STEP_MINUTES;
  if (scenario.baselineMinutes < Math.max(...pairs.map((w) => w.longMinutes))) {
    throw new Error(`${scenario.name}: a baseline shorter than the long windows leaves them partly empty`);
  }
  return Math.min(
    ...pairs.map((w) => {
      const steps = (w.burnRate * w.longMinutes) / scenario.burnRate / STEP_MINUTES;
      if (Math.abs(steps - Math.round(steps)) < 1e-6) {
        throw new Error(`${scenario.name}: the ${w.long} window crosses on an evaluation, choose another rate`);
      }
      return (Math.floor(steps) + 1) * STEP_MINUTES;
    }),
  );
}

interface InputSeries {
  series: string;
  values: string;
}

/**
 * A counter sampled every STEP_MINUTES, rising `before` a minute for
 * `baseline` minutes, then `after` a minute for `minutes` (promtool's `a+bxn`
 * is the n+1 samples a, a+b, ..., a+n*b).
 */
function counter(baseline: number, before: number, after: number, minutes: number): string {
  const [b, a] = [before * STEP_MINUTES, after * STEP_MINUTES];
  if (baseline === 0) return `0+${a}x${minutes / STEP_MINUTES}`;
  return `0+${b}x${baseline / STEP_MINUTES} ${before * baseline + a}+${a}x${minutes / STEP_MINUTES - 1}`;
}

function selector(labels: Record<string, string>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

function errorsPerMinute(slo: Slo, burnRate: number): number {
  const errors = burnRate * errorBudget(slo) * EVENTS_PER_MINUTE;
  if (Math.abs(errors - Math.round(errors)) > 1e-9) throw new Error(`${slo.name}: ${errors} errors a minute is not whole`);
  return Math.round(errors);
}

/**
 * Synthetic series for every SLI at once. SLIs over one histogram and selector
 * share its series: EVENTS_PER_MINUTE requests a minute, half of them good and
 * half 4xx (proving that 4xx are good), the 5xx taken from the good half, and
 * the slow ones (above an SLI's `le`) from the remaining good responses.
 */
export function inputSeries(spec: SloSpec, scenario: Scenario, minutes: number): InputSeries[] {
  const streams = new Map<string, Slo[]>();
  for (const slo of spec.slos) {
    const key = `${slo.sli.histogram}${selector(SAMPLE_LABELS[slo.sli.selector] ?? {})}`;
    if (!(slo.sli.selector in SAMPLE_LABELS)) throw new Error(`no sample labels for selector ${slo.sli.selector}`);
    streams.set(key, [...(streams.get(key) ?? []), slo]);
  }
  const out: InputSeries[] = [];
  const series = (name: string, labels: Record<string, string>, before: number, during: number) =>
    out.push({
      series: Object.keys(labels).length === 0 ? name : `${name}${selector(labels)}`,
      values: counter(scenario.baselineMinutes, before, during, minutes),
    });
  for (const slos of streams.values()) {
    const { histogram, selector: sel } = slos[0].sli;
    const base = SAMPLE_LABELS[sel];
    const serverErrors = slos.filter((s) => s.sli.kind === 'server-errors').map((s) => errorsPerMinute(s, scenario.burnRate));
    const slow = slos.flatMap((s) => (s.sli.kind === 'over-threshold' ? [{ le: s.sli.le, errors: errorsPerMinute(s, scenario.burnRate) }] : []));
    if (serverErrors.length > 1 || new Set(slow.map((s) => s.le)).size !== slow.length) throw new Error(`two SLIs of one kind on ${histogram}${sel}`);
    const e5xx = serverErrors[0] ?? 0;
    const http = histogram === METRICS.httpRequestDuration;
    // [labels, requests a minute at baseline, during the burn, slow ones during the burn]
    const sets: [Record<string, string>, number, number, number][] = http
      ? [
          [{ ...base, status_code: base.method === 'POST' ? '201' : '301' }, EVENTS_PER_MINUTE / 2, EVENTS_PER_MINUTE / 2 - e5xx, 1],
          [{ ...base, status_code: base.method === 'POST' ? '400' : '404' }, EVENTS_PER_MINUTE / 2, EVENTS_PER_MINUTE / 2, 0],
          ...(serverErrors.length > 0 ? [[{ ...base, status_code: '503' }, 0, e5xx, 0] as [Record<string, string>, number, number, number]] : []),
        ]
      : [[base, EVENTS_PER_MINUTE, EVENTS_PER_MINUTE, 1]];
    for (const [labels, before, during, slowShare] of sets) {
      series(`${histogram}_count`, labels, before, during);
      for (const { le, errors } of slow) series(`${histogram}_bucket`, { ...labels, le: String(le) }, before, during - errors * slowShare);
    }
  }
  return out;
}

/**
 * The promtool test file of one scenario: the healthy baseline, then every SLO
 * burning at `scenario.burnRate` x its budget rate, with the exact set of
 * firing alerts of every SLO (every label and annotation) checked at the
 * step, one evaluation before and at the first firing evaluation of each
 * severity, and at the end; and the current burn rate of every SLO.
 */
export function ruleTestFile(spec: SloSpec, scenario: Scenario, ruleFiles: string[], groupOrder: string[]): object {
  const fire = { page: firstFiringMinute(scenario, 'page'), ticket: firstFiringMinute(scenario, 'ticket') };
  const fireTimes = [fire.page, fire.ticket].filter((m): m is number => m !== null);
  const end = fireTimes.length > 0 ? Math.max(...fireTimes) + 2 * STEP_MINUTES : BASELINE_MINUTES;
  const checks =
    scenario.baselineMinutes === 0
      ? [0, STEP_MINUTES, 60, 360, 1440, end]
      : [...new Set([0, ...fireTimes.flatMap((m) => [m - STEP_MINUTES, m]), end])].sort((a, b) => a - b);
  const at = (m: number) => `${scenario.baselineMinutes + m}m`;
  const describe = (m: number | null) => (m === null ? 'never' : `+${m}m`);
  return {
    rule_files: ruleFiles,
    evaluation_interval: `${STEP_MINUTES}m`,
    group_eval_order: groupOrder,
    tests: [
      {
        name:
          `every SLO at ${scenario.burnRate}x its budget rate after ${scenario.baselineMinutes} healthy minutes: ` +
          `page from ${describe(fire.page)}, ticket from ${describe(fire.ticket)}`,
        interval: `${STEP_MINUTES}m`,
        input_series: inputSeries(spec, scenario, end),
        alert_rule_test: checks.flatMap((m) =>
          spec.slos.map((slo) => {
            const rules = alertGroup(spec, slo).rules as AlertingRule[];
            return {
              eval_time: at(m),
              alertname: slo.alerting.name,
              exp_alerts: (['page', 'ticket'] as const)
                .filter((s) => fire[s] !== null && m >= fire[s])
                .map((s) => {
                  const rule = rules.find((r) => r.labels.severity === s)!;
                  return { exp_labels: rule.labels, exp_annotations: rule.annotations };
                }),
            };
          }),
        ),
        promql_expr_test: [
          {
            // Once the 5m window is past the step, the current burn rate is the
            // scenario's; rounded because promtool compares floats exactly and
            // a ratio of two rates is off in the last bits.
            expr: 'round(slo:current_burn_rate:ratio, 0.001)',
            eval_time: at(end),
            exp_samples: spec.slos.map((slo) => ({
              labels: selector({ sloth_id: sloId(spec, slo), sloth_service: spec.service, sloth_slo: slo.name, sloth_window: '5m' }),
              value: scenario.burnRate,
            })),
          },
        ],
      },
    ],
  };
}

/** Names of every group of the rule files, recordings first: promtool then evaluates an alert after the recordings it reads at the same instant. */
export function groupOrder(...files: RuleFile[]): string[] {
  return files.flatMap((f) => f.groups.map((g) => g.name));
}
