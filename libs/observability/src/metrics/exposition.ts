import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** Content type of the Prometheus text exposition format 0.0.4. */
export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Content type of OpenMetrics 1.0 text (the only format that carries exemplars). */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * Whether a scraper's `Accept` header prefers OpenMetrics over the
 * Prometheus text format (RFC 9110 content negotiation with q-values).
 * Prometheus sends
 * `application/openmetrics-text;version=1.0.0,...,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1`
 * when it can take exemplars; curl sends `*\/*` and gets text.
 *
 * @param accept the raw header, absent for clients that send none.
 * @returns true when `application/openmetrics-text` has a positive q-value
 *   strictly above the one that `text/plain` would get.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let openMetrics = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split('=');
      if (k === 'q') q = Number(v);
    }
    if (!Number.isFinite(q)) continue;
    if (range === 'application/openmetrics-text') openMetrics = Math.max(openMetrics, q);
    else if (range === 'text/plain' || range === 'text/*' || range === '*/*') text = Math.max(text, q);
  }
  return openMetrics > 0 && openMetrics > text;
}

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatLabels(labels: Record<string, string | number | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (v === undefined) continue;
    parts.push(`${k}="${escapeLabelValue(typeof v === 'number' ? formatValue(v) : String(v))}"`);
  }
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * Serialises metrics (as `Registry.getMetricsAsJSON()` returns them) in the
 * Prometheus text exposition format 0.0.4, without exemplars.
 *
 * The process registry is an OpenMetrics registry (prom-client only records
 * exemplars there), and prom-client's own OpenMetrics output strips `_total`
 * from counter names in place; so the text format is written here and
 * restores the suffix: a counter family is always `<name>_total` (the
 * Prometheus naming convention `promtool check metrics` enforces).
 */
export function formatPrometheusText(metrics: MetricObjectWithValues<MetricValue<string>>[]): string {
  const out: string[] = [];
  for (const metric of metrics) {
    // prom-client's typings say enum, the runtime value is the type's name.
    const type = String(metric.type);
    const name = type === 'counter' && !metric.name.endsWith('_total') ? `${metric.name}_total` : metric.name;
    out.push(`# HELP ${name} ${escapeHelp(metric.help)}`, `# TYPE ${name} ${type}`);
    for (const value of metric.values as (MetricValue<string> & { metricName?: string })[]) {
      const sample = type === 'counter' ? name : (value.metricName ?? name);
      out.push(`${sample}${formatLabels(value.labels)} ${formatValue(value.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
