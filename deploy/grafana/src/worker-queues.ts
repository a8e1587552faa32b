// Worker and queues: BullMQ queue depth, job duration and failures, and the
// click pipeline from buffer to rollups with its ingest lag.
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../../libs/observability/src/metrics/metric-names';
import { baseDashboard, labelVariable, timeseriesPanel, tracesPanel } from './common';

export const UID = 'shortener-worker-queues';

const QUEUE = 'queue=~"$queue"';
const LAG = METRICS.clickIngestLag;

/** The worker and queues dashboard. */
export function workerQueues(): dashboard.DashboardBuilder {
  const b = baseDashboard(UID, 'Shortener / Worker and queues', 'Queue depth, job duration and failures, click ingest lag.');
  b.withVariable(labelVariable('queue', 'Queue', METRICS.queueJobs, '.*'));
  b.withRow(new dashboard.RowBuilder('Queues'));
  b.withPanel(
    timeseriesPanel('Queue depth by state', [{ expr: `max by (queue, state) (${METRICS.queueJobs}{${QUEUE}})`, legend: '{{queue}} {{state}}' }], {
      description: 'Jobs per state as BullMQ reports them; max over the pods that export the gauge.',
      unit: 'short',
    }),
  );
  b.withPanel(
    timeseriesPanel(
      'Jobs finished by status',
      [{ expr: `sum by (queue, name, status) (rate(${METRICS.jobDuration}_count{${QUEUE}}[$__rate_interval]))`, legend: '{{name}} {{status}}' }],
      {
        unit: 'ops',
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Job duration p50 and p95',
      [0.5, 0.95].map((q) => ({
        expr: `histogram_quantile(${q}, sum by (queue, name, le) (rate(${METRICS.jobDuration}_bucket{${QUEUE}}[$__rate_interval])))`,
        legend: `{{name}} p${q * 100}`,
      })),
      { unit: 's' },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Failed attempts and exhausted jobs',
      [
        { expr: `sum by (queue, name) (rate(${METRICS.jobFailures}{${QUEUE}}[$__rate_interval])) or on () vector(0)`, legend: 'failed {{name}}' },
        { expr: `sum by (queue, name) (rate(${METRICS.jobsExhausted}{${QUEUE}}[$__rate_interval])) or on () vector(0)`, legend: 'exhausted {{name}}' },
      ],
      { description: 'Attempts that threw (retried) and jobs out of retries; 0 when none has failed yet.', unit: 'ops' },
    ),
  );
  b.withRow(new dashboard.RowBuilder('Click pipeline'));
  b.withPanel(
    timeseriesPanel(
      'Clicks through the pipeline',
      [
        { expr: `sum(rate(${METRICS.clicksRecorded}[$__rate_interval]))`, legend: 'recorded (API)' },
        { expr: `sum(rate(${METRICS.clicksPublished}[$__rate_interval]))`, legend: 'published (API)' },
        { expr: `sum(rate(${METRICS.clicksCommitted}[$__rate_interval]))`, legend: 'committed (worker)' },
      ],
      { unit: 'ops' },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Clicks dropped by reason',
      [{ expr: `sum by (reason) (rate(${METRICS.clicksDropped}[$__rate_interval])) or on () vector(0)`, legend: '{{reason}}' }],
      {
        description:
          'queue_full (the queue holds CLICK_MAX_QUEUE_CLICKS), buffer_full (an API buffer is full while publishes fail), shutdown; 0 when none was dropped.',
        unit: 'ops',
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Clicks waiting',
      [
        { expr: `max(${METRICS.clickQueueDepthClicks})`, legend: 'in the queue' },
        { expr: `sum(${METRICS.clicksBuffered})`, legend: 'buffered in API processes' },
      ],
      {
        description:
          'Published and not yet committed (the queue Redis holds about 300 bytes each), and buffered in API processes (lost if a process is killed).',
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Ingest lag percentiles',
      [0.5, 0.95, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le) (rate(${LAG}_bucket[$__rate_interval])))`, legend: `p${q * 100}` })),
      { description: 'Seconds from a click to its commit in the rollups.', unit: 's', thresholdLines: [60] },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'Clicks committed within 60 s',
      [{ expr: `sum(rate(${LAG}_bucket{le="60"}[$__rate_interval])) / sum(rate(${LAG}_count[$__rate_interval]))`, legend: 'within 60 s' }],
      { description: 'The click freshness SLI (objective 99%).', unit: 'percentunit', max: 1 },
    ),
  );
  b.withRow(new dashboard.RowBuilder('Traces'));
  b.withPanel(
    tracesPanel(
      'Worker traces (Jaeger)',
      { service: 'shortener-worker', limit: 20 },
      { description: 'Batch spans link to the redirect spans they aggregate.' },
    ),
  );
  return b;
}
