// Shared pieces of the dashboards: datasource variables, query and panel
// helpers, so every dashboard reads the same way and stays deterministic.
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Both datasources are variables, so one JSON works against any Grafana's datasources. */
export const PROMETHEUS: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };
export const JAEGER: common.DataSourceRef = { type: 'jaeger', uid: '${jaeger}' };

/** Tags every generated dashboard carries; the chart's ConfigMaps and Grafana searches use them. */
export const TAGS = ['shortener', 'generated'];

/** A PromQL target. `instant` for stats and tables; `exemplars` links latency points to traces. */
export interface Query {
  expr: string;
  legend?: string;
  instant?: boolean;
  table?: boolean;
  exemplars?: boolean;
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function promTargets(queries: readonly Query[]): cog.Builder<cog.Dataquery>[] {
  return queries.map((q, i) => {
    const b = new prometheus.DataqueryBuilder().refId(REF_IDS[i]).datasource(PROMETHEUS).expr(q.expr);
    if (q.legend !== undefined) b.legendFormat(q.legend);
    if (q.instant) b.instant();
    else b.range();
    if (q.table) b.format(prometheus.PromQueryFormat.Table);
    if (q.exemplars) b.exemplar(true);
    return b;
  });
}

/** A Jaeger search (Grafana's Jaeger datasource query model; the SDK has no builder for it). */
export class JaegerSearchBuilder implements cog.Builder<cog.Dataquery> {
  constructor(private readonly query: { service: string; minDuration?: string; limit?: number; tags?: string }) {}

  build(): cog.Dataquery {
    return { refId: 'A', datasource: JAEGER, queryType: 'search', ...this.query } as unknown as cog.Dataquery;
  }
}

export interface PanelOptions {
  description?: string;
  unit?: string;
  /** Grid width (of 24) and height. */
  span?: number;
  height?: number;
  min?: number;
  max?: number;
  decimals?: number;
}

function sized<
  T extends {
    span(w: number): T;
    height(h: number): T;
    unit(u: string): T;
    description(d: string): T;
    min(n: number): T;
    max(n: number): T;
    decimals(n: number): T;
  },
>(b: T, o: PanelOptions): T {
  b.span(o.span ?? 12).height(o.height ?? 8);
  if (o.unit !== undefined) b.unit(o.unit);
  if (o.description !== undefined) b.description(o.description);
  if (o.min !== undefined) b.min(o.min);
  if (o.max !== undefined) b.max(o.max);
  if (o.decimals !== undefined) b.decimals(o.decimals);
  return b;
}

/** A time series panel with a table legend (last and max), so a series can be read without hovering. */
export function timeseriesPanel(title: string, queries: readonly Query[], o: PanelOptions & { thresholdLines?: number[] } = {}): timeseries.PanelBuilder {
  const b = sized(new timeseries.PanelBuilder().title(title).datasource(PROMETHEUS).targets(promTargets(queries)), o)
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Bottom)
        .showLegend(true)
        .calcs(['lastNotNull', 'max']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never);
  if (o.thresholdLines) {
    b.thresholds(
      thresholds(
        o.thresholdLines.map((value) => ({ value, color: 'red' })),
        'transparent',
      ),
    );
    b.thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
  }
  return b;
}

/** Threshold steps; the base step (below the first value) has `base` as colour. */
export function thresholds(steps: { value: number; color: string }[], base: string): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([{ value: null, color: base }, ...steps]);
}

/** A single-value panel of the last value of an instant query. */
export function statPanel(
  title: string,
  query: Query,
  o: PanelOptions & { steps?: { value: number; color: string }[]; base?: string } = {},
): stat.PanelBuilder {
  const b = sized(
    new stat.PanelBuilder()
      .title(title)
      .datasource(PROMETHEUS)
      .targets(promTargets([{ instant: true, ...query }])),
    { span: 4, height: 5, ...o },
  )
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(common.BigValueColorMode.Value)
    .graphMode(common.BigValueGraphMode.None);
  b.thresholds(thresholds(o.steps ?? [], o.base ?? 'text'));
  return b;
}

/** A state timeline: one lane per series, coloured by `steps` of its value. */
export function stateTimelinePanel(
  title: string,
  queries: readonly Query[],
  o: PanelOptions & { steps: { value: number; color: string }[]; base: string },
): statetimeline.PanelBuilder {
  return sized(new statetimeline.PanelBuilder().title(title).datasource(PROMETHEUS).targets(promTargets(queries)), { span: 24, ...o }).thresholds(
    thresholds(o.steps, o.base),
  );
}

/** A table of an instant query's series, one row per series. */
export function tablePanel(title: string, query: Query, o: PanelOptions = {}): table.PanelBuilder {
  return sized(
    new table.PanelBuilder()
      .title(title)
      .datasource(PROMETHEUS)
      .targets(promTargets([{ instant: true, table: true, ...query }])),
    { span: 24, ...o },
  );
}

/** A table of Jaeger traces. */
export function tracesPanel(title: string, search: ConstructorParameters<typeof JaegerSearchBuilder>[0], o: PanelOptions = {}): table.PanelBuilder {
  return sized(
    new table.PanelBuilder()
      .title(title)
      .datasource(JAEGER)
      .targets([new JaegerSearchBuilder(search)]),
    { span: 24, ...o },
  );
}

/** The two datasource variables every dashboard has. */
export function datasourceVariables(): dashboard.DatasourceVariableBuilder[] {
  return [
    new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'),
    new dashboard.DatasourceVariableBuilder('jaeger').label('Jaeger').type('jaeger'),
  ];
}

/**
 * A multi-value variable over the values of label `name`, with "All" as `allValue`: panels match it with
 * `=~"$name"`, and a regex `allValue` keeps queries short and valid when no
 * value has been seen yet.
 */
export function labelVariable(name: string, label: string, metricSelector: string, allValue: string): dashboard.QueryVariableBuilder {
  const query = `label_values(${metricSelector}, ${name})`;
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(PROMETHEUS)
    .query({ query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 })
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(allValue)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** A dashboard with the project's defaults: UTC, 1 h range, 30 s refresh, the datasource variables first. */
export function baseDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(TAGS)
    .timezone('utc')
    .time({ from: 'now-1h', to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .editable()
    .variables(datasourceVariables());
}

/**
 * The built dashboard as JSON with panel ids numbered in layout order: the
 * builder leaves ids unset or 0, and Grafana needs them unique for links to
 * a panel (`viewPanel=<id>`).
 */
export function render(b: dashboard.DashboardBuilder): string {
  const built = b.build();
  let id = 0;
  for (const panel of built.panels ?? []) {
    panel.id = ++id;
    for (const inner of (panel as Partial<dashboard.RowPanel>).panels ?? []) inner.id = ++id;
  }
  return `${JSON.stringify(built, null, 2)}\n`;
}
