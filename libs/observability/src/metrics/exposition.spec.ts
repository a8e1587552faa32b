import { Counter, Histogram, Registry } from 'prom-client';
import { formatPrometheusText, prefersOpenMetrics } from './exposition';

describe(prefersOpenMetrics.name, () => {
  it.each([
    [undefined, false],
    ['*/*', false],
    ['text/plain;version=0.0.4', false],
    ['application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', true],
    ['application/openmetrics-text', true],
    ['text/plain, application/openmetrics-text;q=0.9', false],
    ['application/openmetrics-text;q=0', false],
  ])('Accept %s -> %s', (accept, expected) => {
    expect(prefersOpenMetrics(accept)).toBe(expected);
  });
});

describe(formatPrometheusText.name, () => {
  it('writes the text format, restoring _total on counters and escaping label values', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'demo_events_total', help: 'Events\nper "kind".', labelNames: ['kind'], registers: [registry] });
    const histogram = new Histogram({ name: 'demo_seconds', help: 'Durations.', buckets: [0.5], registers: [registry] });
    counter.inc({ kind: 'a"b\\c' }, 2);
    histogram.observe(0.2);
    const metrics = await registry.getMetricsAsJSON();
    // What prom-client's OpenMetrics output leaves behind on a counter.
    metrics[0].name = 'demo_events';
    expect(formatPrometheusText(metrics)).toBe(
      [
        '# HELP demo_events_total Events\\nper "kind".',
        '# TYPE demo_events_total counter',
        'demo_events_total{kind="a\\"b\\\\c"} 2',
        '# HELP demo_seconds Durations.',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{le="0.5"} 1',
        'demo_seconds_bucket{le="+Inf"} 1',
        'demo_seconds_sum 0.2',
        'demo_seconds_count 1',
        '',
      ].join('\n'),
    );
  });
});
