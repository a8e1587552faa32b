// Runtime of both processes: scrape health, readiness and dependencies,
// event loop lag, memory and GC (prom-client's default metrics).
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { METRICS } from '../../../libs/observability/src/metrics/metric-names';
import { JOB_MATCHER } from '../../slo/operational';
import { baseDashboard, labelVariable, stateTimelinePanel, timeseriesPanel } from './common';

export const UID = 'shortener-runtime';

const SEL = 'job=~"$job", instance=~"$instance"';

/** The runtime dashboard. */
export function runtime(): dashboard.DashboardBuilder {
  const b = baseDashboard(UID, 'Shortener / Runtime', 'Node.js runtime of the API and worker pods: event loop, heap, GC, CPU, readiness.');
  b.withVariable(labelVariable('job', 'Job', `up{${JOB_MATCHER}}`, '.*'));
  b.withVariable(labelVariable('instance', 'Instance', 'up{job=~"$job"}', '.*'));
  b.withRow(new dashboard.RowBuilder('Health'));
  b.withPanel(
    stateTimelinePanel('Scrape up', [{ expr: `up{${JOB_MATCHER}, ${SEL}}`, legend: '{{job}} {{instance}}' }], {
      span: 12,
      base: 'red',
      steps: [{ value: 1, color: 'green' }],
    }),
  );
  b.withPanel(
    stateTimelinePanel('Ready', [{ expr: `${METRICS.ready}{${SEL}}`, legend: '{{job}} {{instance}}' }], {
      span: 12,
      base: 'red',
      steps: [{ value: 1, color: 'green' }],
    }),
  );
  b.withPanel(
    stateTimelinePanel(
      'Dependencies as seen by each job',
      [{ expr: `min by (job, dependency) (${METRICS.dependencyUp}{${SEL}})`, legend: '{{job}} {{dependency}}' }],
      {
        description: 'postgres, redis_cache, redis_queue: 1 when the last check reached it.',
        base: 'red',
        steps: [{ value: 1, color: 'green' }],
      },
    ),
  );
  b.withRow(new dashboard.RowBuilder('Event loop'));
  b.withPanel(
    timeseriesPanel(
      'Event loop lag',
      [
        { expr: `nodejs_eventloop_lag_p50_seconds{${SEL}}`, legend: '{{instance}} p50' },
        { expr: `nodejs_eventloop_lag_p99_seconds{${SEL}}`, legend: '{{instance}} p99' },
        { expr: `nodejs_eventloop_lag_seconds{${SEL}}`, legend: '{{instance}} last' },
      ],
      { description: 'The API sheds load (503) when the event loop stays delayed.', unit: 's' },
    ),
  );
  b.withPanel(
    timeseriesPanel('CPU', [{ expr: `rate(process_cpu_seconds_total{${SEL}}[$__rate_interval])`, legend: '{{instance}}' }], {
      description: 'Cores used.',
      unit: 'short',
    }),
  );
  b.withRow(new dashboard.RowBuilder('Memory and GC'));
  b.withPanel(
    timeseriesPanel(
      'Heap and resident memory',
      [
        { expr: `nodejs_heap_size_used_bytes{${SEL}}`, legend: '{{instance}} heap used' },
        { expr: `nodejs_heap_size_total_bytes{${SEL}}`, legend: '{{instance}} heap total' },
        { expr: `process_resident_memory_bytes{${SEL}}`, legend: '{{instance}} resident' },
      ],
      { unit: 'bytes' },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'GC time by kind',
      [{ expr: `sum by (instance, kind) (rate(nodejs_gc_duration_seconds_sum{${SEL}}[$__rate_interval]))`, legend: '{{instance}} {{kind}}' }],
      {
        description: 'Seconds of garbage collection per second, by kind (minor, major, incremental, weakcb).',
        unit: 'percentunit',
      },
    ),
  );
  b.withPanel(
    timeseriesPanel(
      'GC runs by kind',
      [{ expr: `sum by (instance, kind) (rate(nodejs_gc_duration_seconds_count{${SEL}}[$__rate_interval]))`, legend: '{{instance}} {{kind}}' }],
      {
        unit: 'ops',
      },
    ),
  );
  b.withPanel(timeseriesPanel('Open file descriptors', [{ expr: `process_open_fds{${SEL}}`, legend: '{{instance}}' }], { unit: 'short' }));
  return b;
}
