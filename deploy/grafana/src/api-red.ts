// API RED: rate, errors and duration of every HTTP route of the API process
// (the redirect `/:code` and the REST routes `/api/...`), by route template.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../../libs/observability/src/metrics/metric-names';
import { baseDashboard, labelVariable, timeseriesPanel, tracesPanel } from './common';

export const UID = 'shortener-api-red';

const H = METRICS.httpRequestDuration;
const ROUTE = 'route=~"$route"';

/** The API RED dashboard. */
export function apiRed(): dashboard.DashboardBuilder {
  const b = baseDashboard(UID, 'Shortener / API RED', 'Requests, errors and duration by route template of the shortener API.');
  b.withVariable(labelVariable('route', 'Route', `${H}_count`, '.*'));
  b.withRow(new dashboard.RowBuilder('Rate'));
  b.withPanel(
    timeseriesPanel('Requests by route', [{ expr: `sum by (route) (rate(${H}_count{${ROUTE}}[$__rate_interval]))`, legend: '{{route}}' }], { unit: 'reqps' }),
  );
  b.withPanel(
    timeseriesPanel('Responses by status code', [{ expr: `sum by (status_code) (rate(${H}_count{${ROUTE}}[$__rate_interval]))`, legend: '{{status_code}}' }], {
      unit: 'reqps',
    }),
  );
  b.withPanel(
    // Not `increase(...[$__interval])`: at the smallest interval (the scrape
    // interval) that window holds one sample and the panel shows no data.
    timeseriesPanel(
      'Responses per interval by method',
      [{ expr: `sum by (method) (rate(${H}_count{${ROUTE}}[$__rate_interval])) * $__interval_ms / 1000`, legend: '{{method}}' }],
      {
        description: 'Responses in each interval of the graph: the per-second rate over the rate interval times the interval.',
        unit: 'short',
        span: 12,
      },
    ),
  );
  b.withPanel(
    timeseriesPanel('Links created by domain', [{ expr: `sum by (domain) (rate(${METRICS.linksCreated}[$__rate_interval]))`, legend: '{{domain}}' }], {
      unit: 'ops',
    }),
  );
  b.withRow(new dashboard.RowBuilder('Errors'));
  b.withPanel(
    timeseriesPanel(
      'Server error ratio by route',
      [
        {
          expr:
            `sum by (route) (rate(${H}_count{${ROUTE},status_code=~"5.."}[$__rate_interval]))\n` +
            `/ sum by (route) (rate(${H}_count{${ROUTE}}[$__rate_interval]))`,
          legend: '{{route}}',
        },
      ],
      { description: "Share of responses with status 5xx; 4xx are the clients' errors and do not count.", unit: 'percentunit' },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Client errors by route and status',
      [{ expr: `sum by (route, status_code) (rate(${H}_count{${ROUTE},status_code=~"4.."}[$__rate_interval]))`, legend: '{{route}} {{status_code}}' }],
      {
        unit: 'reqps',
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Rate limited by limiter',
      [{ expr: `sum by (limiter) (rate(${METRICS.rateLimited}[$__rate_interval])) or on () vector(0)`, legend: '{{limiter}}' }],
      {
        description: 'Requests refused with 429; 0 when no limiter has refused anything yet.',
        unit: 'reqps',
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Blocklist refusals',
      [{ expr: `sum by (where) (rate(${METRICS.blocklistRefusals}[$__rate_interval])) or on () vector(0)`, legend: '{{where}}' }],
      {
        unit: 'ops',
      },
    ),
  );
  b.withRow(new dashboard.RowBuilder('Duration'));
  for (const q of [0.5, 0.95, 0.99]) {
    b.withPanel(
      timeseriesPanel(
        `p${q * 100} duration by route`,
        [{ expr: `histogram_quantile(${q}, sum by (route, le) (rate(${H}_bucket{${ROUTE}}[$__rate_interval])))`, legend: '{{route}}', exemplars: true }],
        { unit: 's', span: 8, description: 'Estimated from the histogram buckets; exemplars link to sampled traces.' },
      ),
    );
  }
  b.withPanel(
    timeseriesPanel(
      'Share of responses within 50 ms and 300 ms',
      ['0.05', '0.3'].map((le) => ({
        expr: `sum(rate(${H}_bucket{${ROUTE},le="${le}"}[$__rate_interval])) / sum(rate(${H}_count{${ROUTE}}[$__rate_interval]))`,
        legend: `within ${Number(le) * 1000} ms`,
      })),
      { unit: 'percentunit', max: 1, span: 24 },
    ),
  );
  b.withRow(new dashboard.RowBuilder('Traces'));
  b.withPanel(
    tracesPanel(
      'Slow API requests (Jaeger)',
      { service: 'shortener-api', minDuration: '300ms', limit: 20 },
      { description: 'Sampled traces of the API over 300 ms.' },
    ),
  );
  return b;
}
