import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, OpenMetricsContentType, Registry } from 'prom-client';
import { deferredCounter } from './deferred-counter';
import { formatPrometheusText, OPENMETRICS_CONTENT_TYPE, prefersOpenMetrics, PROMETHEUS_TEXT_CONTENT_TYPE } from './exposition';
import { HTTP_DURATION_BUCKETS, INGEST_LAG_BUCKETS, METRICS } from './metric-names';

/**
 * prom-client default metrics that break `promtool check metrics` (gauges
 * ending in `_total`). Each is the sum of a labelled gauge of the same name
 * without the suffix (`nodejs_active_handles{type}`, ...), so nothing is lost
 * by dropping them.
 */
const DROPPED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** An OpenMetrics registry: the only kind prom-client lets record exemplars. */
function createOpenMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/** A rendered scrape: the negotiated content type and the body. */
export interface Scrape {
  contentType: string;
  body: string;
}

/**
 * The process's one Prometheus registry and every application metric
 * (names and labels: {@link METRICS}), plus prom-client's Node.js runtime
 * metrics (`process_*`, `nodejs_*`). Label children used on the hot path
 * are bound once (`labels()` returns a cached child) to keep the cost per
 * event at a few microseconds.
 *
 * The registry is an OpenMetrics registry so that the HTTP histogram can
 * keep exemplars (trace ids of sampled requests); {@link scrape} renders the
 * Prometheus text format by default and OpenMetrics when negotiated.
 */
@Injectable()
export class MetricsService {
  readonly registry = createOpenMetricsRegistry();
  private readonly collectors: (() => void)[] = [];

  /**
   * Observe with `observe({ labels, value, exemplarLabels })`: exemplars are
   * on, so the two-argument form is not available.
   */
  readonly httpRequestDuration = new Histogram({
    name: METRICS.httpRequestDuration,
    help: 'Duration of HTTP server responses, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    enableExemplars: true,
    registers: [this.registry],
  });
  /** Counted per redirect through `deferredCounterChild` series. */
  readonly redirects = deferredCounter({
    name: METRICS.redirects,
    help: 'Redirect responses by outcome and the cache layer that answered.',
    labelNames: ['outcome', 'cache'] as const,
    registers: [this.registry],
  });
  /** Counted per lookup through `deferredCounterChild` series. */
  readonly cacheRequests = deferredCounter({
    name: METRICS.cacheRequests,
    help: 'Redirect cache lookups by layer and result.',
    labelNames: ['layer', 'result'] as const,
    registers: [this.registry],
  });
  readonly linksCreated = new Counter({
    name: METRICS.linksCreated,
    help: 'Links created, by short domain.',
    labelNames: ['domain'] as const,
    registers: [this.registry],
  });
  /** Counted per click through a `deferredCounterChild` series. */
  readonly clicksRecorded = deferredCounter({
    name: METRICS.clicksRecorded,
    help: 'Click events accepted into the in-process buffer.',
    registers: [this.registry],
  });
  readonly clicksBuffered = new Gauge({
    name: METRICS.clicksBuffered,
    help: 'Clicks buffered or being published in this process: what a kill -9 would lose.',
    registers: [this.registry],
  });
  readonly clicksPublished = new Counter({ name: METRICS.clicksPublished, help: 'Click events published to the click queue.', registers: [this.registry] });
  readonly clickPublishFailures = new Counter({
    name: METRICS.clickPublishFailures,
    help: 'Click batch publishes the queue Redis refused (the batch is kept and retried).',
    registers: [this.registry],
  });
  readonly clicksDropped = new Counter({
    name: METRICS.clicksDropped,
    help: 'Click events dropped, by reason (queue_full, buffer_full, shutdown).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly clickQueueDepthClicks = new Gauge({
    name: METRICS.clickQueueDepthClicks,
    help: 'Clicks in the click queue (published, not yet committed).',
    registers: [this.registry],
  });
  readonly clickOldestWaiting = new Gauge({
    name: METRICS.clickOldestWaiting,
    help: 'Age in seconds of the oldest click not yet committed that this process sees (buffered or queued); 0 when none waits.',
    registers: [this.registry],
  });
  readonly clicksCommitted = new Counter({ name: METRICS.clicksCommitted, help: 'Click events committed to rollups.', registers: [this.registry] });
  readonly clickIngestLag = new Histogram({
    name: METRICS.clickIngestLag,
    help: 'Seconds from a click to its commit in the rollups.',
    buckets: INGEST_LAG_BUCKETS,
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: METRICS.queueJobs,
    help: 'Jobs per queue and state.',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: METRICS.jobDuration,
    help: 'Job processing duration by queue, job name and status.',
    labelNames: ['queue', 'name', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly jobFailures = new Counter({
    name: METRICS.jobFailures,
    help: 'Job attempts that failed, by queue and job name.',
    labelNames: ['queue', 'name'] as const,
    registers: [this.registry],
  });
  readonly jobsExhausted = new Counter({
    name: METRICS.jobsExhausted,
    help: 'Jobs that exhausted their retries, by queue and job name.',
    labelNames: ['queue', 'name'] as const,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: METRICS.rateLimited,
    help: 'Requests refused by a rate limiter.',
    labelNames: ['limiter'] as const,
    registers: [this.registry],
  });
  readonly blocklistRefusals = new Counter({
    name: METRICS.blocklistRefusals,
    help: 'Targets refused by the host blocklist, by where.',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly ready = new Gauge({ name: METRICS.ready, help: '1 while the process is ready to serve.', registers: [this.registry] });
  readonly dependencyUp = new Gauge({
    name: METRICS.dependencyUp,
    help: '1 when the last check reached the dependency, else 0.',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
  }

  /**
   * Renders every metric for a scrape.
   *
   * @param accept the scraper's `Accept` header: OpenMetrics 1.0 (with
   *   exemplars) when it prefers `application/openmetrics-text`, else the
   *   Prometheus text format 0.0.4 (no exemplars).
   */
  /**
   * Registers a function run before each scrape, to set gauges whose value
   * is read from somewhere rather than kept (a buffer's size).
   */
  onCollect(collector: () => void): void {
    this.collectors.push(collector);
  }

  async scrape(accept?: string): Promise<Scrape> {
    for (const collect of this.collectors) collect();
    if (prefersOpenMetrics(accept)) return { contentType: OPENMETRICS_CONTENT_TYPE, body: await this.registry.metrics() };
    return { contentType: PROMETHEUS_TEXT_CONTENT_TYPE, body: formatPrometheusText(await this.registry.getMetricsAsJSON()) };
  }
}
