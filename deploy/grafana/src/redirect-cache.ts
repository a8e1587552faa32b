// Redirect cache layers: how the redirect hot path is answered (in-process
// LRU, cache Redis, PostgreSQL, negative cache) and what it costs.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../../libs/observability/src/metrics/metric-names';
import { baseDashboard, statPanel, timeseriesPanel, tracesPanel } from './common';

export const UID = 'shortener-redirect-cache';

const H = METRICS.httpRequestDuration;
const REDIRECT = 'route="/:code"';

/** The redirect cache layers dashboard. */
export function redirectCache(): dashboard.DashboardBuilder {
  const b = baseDashboard(
    UID,
    'Shortener / Redirect cache layers',
    'Redirect answers by cache layer (LRU, Redis, PostgreSQL), hit ratios and redirect latency.',
  );
  b.withRow(new dashboard.RowBuilder('Summary'));
  b.withPanel(statPanel('Redirects in range', { expr: `sum(increase(${METRICS.redirects}[$__range]))` }, { unit: 'short', span: 6 }));
  b.withPanel(
    statPanel(
      'LRU hit ratio in range',
      {
        expr: `sum(increase(${METRICS.cacheRequests}{layer="lru",result="hit"}[$__range])) / sum(increase(${METRICS.cacheRequests}{layer="lru"}[$__range]))`,
      },
      { unit: 'percentunit', decimals: 1, span: 6 },
    ),
  );
  b.withPanel(
    statPanel(
      'Answered by PostgreSQL in range',
      {
        expr: `sum(increase(${METRICS.redirects}{cache="db"}[$__range])) / sum(increase(${METRICS.redirects}[$__range]))`,
      },
      { unit: 'percentunit', decimals: 1, span: 6, description: 'Share of redirects that missed both caches.' },
    ),
  );
  b.withPanel(
    statPanel(
      'Within 50 ms in range',
      {
        expr: `sum(increase(${H}_bucket{${REDIRECT},le="0.05"}[$__range])) / sum(increase(${H}_count{${REDIRECT}}[$__range]))`,
      },
      { unit: 'percentunit', decimals: 2, span: 6, description: 'The redirect latency SLI over the dashboard range.' },
    ),
  );
  b.withRow(new dashboard.RowBuilder('Cache layers'));
  b.withPanel(
    timeseriesPanel(
      'Hit ratio by layer',
      [
        {
          expr:
            `sum by (layer) (rate(${METRICS.cacheRequests}{result="hit"}[$__rate_interval]))\n` +
            `/ sum by (layer) (rate(${METRICS.cacheRequests}[$__rate_interval]))`,
          legend: '{{layer}}',
        },
      ],
      { unit: 'percentunit', max: 1 },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Lookups by layer and result',
      [{ expr: `sum by (layer, result) (rate(${METRICS.cacheRequests}[$__rate_interval]))`, legend: '{{layer}} {{result}}' }],
      { unit: 'ops' },
    ),
  );
  b.withPanel(
    timeseriesPanel('Redirects by answering layer', [{ expr: `sum by (cache) (rate(${METRICS.redirects}[$__rate_interval]))`, legend: '{{cache}}' }], {
      description: 'lru, redis, db, negative (cached unknown code) or none.',
      unit: 'reqps',
    }),
  );
  b.withPanel(
    timeseriesPanel('Redirects by outcome', [{ expr: `sum by (outcome) (rate(${METRICS.redirects}[$__rate_interval]))`, legend: '{{outcome}}' }], {
      description: 'redirect, not_found (404), gone (410), rate_limited (429), error.',
      unit: 'reqps',
    }),
  );
  b.withRow(new dashboard.RowBuilder('Latency'));
  b.withPanel(
    timeseriesPanel(
      'Redirect duration percentiles',
      [0.5, 0.9, 0.99].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(${H}_bucket{${REDIRECT}}[$__rate_interval])))`,
        legend: `p${q * 100}`,
        exemplars: true,
      })),
      { unit: 's', thresholdLines: [0.05] },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Redirects within 50 ms',
      [
        {
          expr: `sum(rate(${H}_bucket{${REDIRECT},le="0.05"}[$__rate_interval])) / sum(rate(${H}_count{${REDIRECT}}[$__rate_interval]))`,
          legend: 'within 50 ms',
        },
      ],
      { unit: 'percentunit', max: 1, description: 'The redirect latency SLI (objective 99%).' },
    ),
  );
  b.withPanel(
    tracesPanel(
      'Slow redirects (Jaeger)',
      { service: 'shortener-api', minDuration: '50ms', limit: 20 },
      { description: 'Sampled redirects over the 50 ms SLO threshold.' },
    ),
  );
  return b;
}
