// Every PromQL query the project ships: the panel targets of the generated
// dashboards (with Grafana's variables expanded as Grafana would) and the
// expressions of the rule files. The live test sends each to a real
// Prometheus; the unit tests parse each with promtool.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export const DASHBOARDS_DIR = 'deploy/grafana/dashboards';
export const RULES_DIR = 'deploy/prometheus/rules';

export interface PromQuery {
  /** Where it comes from: `<dashboard uid> / <row title> / <panel title> / <refId>` or `<rule file> / <group> / <record or alert>`. */
  source: string;
  kind: 'panel' | 'recording' | 'alert';
  /** The expression as sent to Prometheus (variables expanded). */
  expr: string;
  /** Panels: an instant query (`/api/v1/query`) rather than a range query. */
  instant: boolean;
  /**
   * Whether a healthy system under traffic must return data. Not for alert
   * state (ALERTS is empty while nothing fires), `absent()` (empty while the
   * thing exists) and alert rule expressions (empty while healthy): those are
   * checked for parsing only.
   */
  expectsData: boolean;
}

/** Values of Grafana's built-in variables, in seconds. */
export interface Expansion {
  /** `$__interval`: the step of a range query. */
  intervalSeconds: number;
  /** `$__rate_interval`. */
  rateIntervalSeconds: number;
  /** `$__range`: the dashboard time range. */
  rangeSeconds: number;
  /** Values of dashboard variables, overriding what the dashboard's templating says. */
  variables?: Record<string, string>;
}

/**
 * The built-ins as Grafana computes them for a Prometheus datasource whose
 * scrape interval is `scrapeIntervalSeconds`, for a range query with step
 * `$__interval`: `$__rate_interval` = max($__interval + scrape interval,
 * 4 x scrape interval) (Grafana docs, "Prometheus template variables":
 * "$__rate_interval"), so a rate window always holds at least four samples.
 */
export function grafanaExpansion(scrapeIntervalSeconds: number, rangeSeconds: number, intervalSeconds = scrapeIntervalSeconds): Expansion {
  return {
    intervalSeconds,
    rateIntervalSeconds: Math.max(intervalSeconds + scrapeIntervalSeconds, 4 * scrapeIntervalSeconds),
    rangeSeconds,
  };
}

const BUILTINS = (e: Expansion): Record<string, string> => ({
  __interval: `${e.intervalSeconds}s`,
  __interval_ms: String(e.intervalSeconds * 1000),
  __rate_interval: `${e.rateIntervalSeconds}s`,
  __rate_interval_ms: String(e.rateIntervalSeconds * 1000),
  __range: `${e.rangeSeconds}s`,
  __range_s: String(e.rangeSeconds),
  __range_ms: String(e.rangeSeconds * 1000),
});

/** Grafana's variable syntaxes: `${name}`, `${name:format}`, `[[name]]`, `$name`. */
const VARIABLE = /\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)/g;

/**
 * `expr` with every variable replaced; throws on a variable it does not know,
 * so no query reaches Prometheus with a `$` left in it. `values` holds the
 * dashboard's variables (name to the value a panel sees).
 */
export function expandVariables(expr: string, expansion: Expansion, values: Record<string, string>): string {
  const known: Record<string, string | undefined> = { ...BUILTINS(expansion), ...values, ...expansion.variables };
  return expr.replace(VARIABLE, (match, braced?: string, bracketed?: string, bare?: string) => {
    const name = (braced ?? bracketed ?? bare)!;
    const value = known[name];
    if (value === undefined) throw new Error(`unknown variable ${match} in ${expr}`);
    return value;
  });
}

interface TemplateVariable {
  type: string;
  name: string;
  includeAll?: boolean;
  allValue?: string;
  current?: { value?: string | string[] };
  query?: unknown;
}

/**
 * What a panel sees for each variable of a dashboard as generated: "All" (the
 * variables' default) is `allValue`; a constant or custom variable its current
 * value. Datasource variables are not PromQL and are left out.
 */
export function variableValues(templating: readonly TemplateVariable[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const v of templating) {
    if (v.type === 'datasource') continue;
    if (v.includeAll && v.allValue !== undefined) values[v.name] = v.allValue;
    else if (typeof v.current?.value === 'string') values[v.name] = v.current.value;
    else throw new Error(`variable ${v.name}: no value to expand it with`);
  }
  return values;
}

interface PanelJson {
  title?: string;
  type: string;
  panels?: PanelJson[];
  targets?: { refId?: string; expr?: string; instant?: boolean }[];
}

interface DashboardJson {
  uid: string;
  templating?: { list?: TemplateVariable[] };
  panels?: PanelJson[];
}

/** Parse-only: alert state and absence are empty on a healthy system. */
function expectsData(expr: string): boolean {
  return !/\bALERTS\b|\babsent(_over_time)?\s*\(/.test(expr);
}

/**
 * Every Prometheus target of a dashboard (Jaeger and other targets have no
 * `expr`), in collapsed rows too. The source names the row, since panel
 * titles repeat from row to row.
 */
export function dashboardQueries(json: DashboardJson, expansion: Expansion): PromQuery[] {
  const values = variableValues(json.templating?.list ?? []);
  const located: { panel: PanelJson; row?: string }[] = [];
  let row: string | undefined;
  for (const p of json.panels ?? []) {
    if (p.type === 'row') {
      row = p.title;
      for (const inner of p.panels ?? []) located.push({ panel: inner, row });
    } else located.push({ panel: p, row });
  }
  return located.flatMap(({ panel, row }) =>
    (panel.targets ?? []).flatMap((t) => {
      if (t.expr === undefined) return [];
      const expr = expandVariables(t.expr, expansion, values);
      const source = [json.uid, row, panel.title ?? panel.type, t.refId ?? '?'].filter((x) => x !== undefined).join(' / ');
      return [{ source, kind: 'panel' as const, expr, instant: t.instant === true, expectsData: expectsData(expr) }];
    }),
  );
}

interface RuleFileJson {
  groups: { name: string; rules: ({ record: string; expr: string } | { alert: string; expr: string })[] }[];
}

/** Every rule expression of a rule file; recordings must return data, alert conditions parse only. */
export function ruleQueries(file: RuleFileJson, fileName: string): PromQuery[] {
  return file.groups.flatMap((g) =>
    g.rules.map((r) => {
      const expr = r.expr.trim();
      return 'record' in r
        ? { source: `${fileName} / ${g.name} / ${r.record}`, kind: 'recording' as const, expr, instant: true, expectsData: expectsData(expr) }
        : { source: `${fileName} / ${g.name} / ${r.alert}`, kind: 'alert' as const, expr, instant: true, expectsData: false };
    }),
  );
}

/** Every query of the generated dashboards and rule files under `root` (the repository), in file order. */
export function collectQueries(root: string, expansion: Expansion): PromQuery[] {
  const sorted = (dir: string, ext: string) =>
    readdirSync(join(root, dir))
      .filter((f) => f.endsWith(ext))
      .sort();
  const panels = sorted(DASHBOARDS_DIR, '.json').flatMap((f) =>
    dashboardQueries(JSON.parse(readFileSync(join(root, DASHBOARDS_DIR, f), 'utf8')) as DashboardJson, expansion),
  );
  const rules = sorted(RULES_DIR, '.yaml').flatMap((f) => ruleQueries(parse(readFileSync(join(root, RULES_DIR, f), 'utf8')) as RuleFileJson, f));
  return [...panels, ...rules];
}
