import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { HTTP_DURATION_BUCKETS, INGEST_LAG_BUCKETS, METRICS } from './metric-names';

/**
 * The process's one Prometheus registry and every application metric
 * (names and labels: {@link METRICS}). Label children used on the hot path
 * are bound once (`labels()` returns a cached child) to keep the cost per
 * event at a few microseconds.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: METRICS.httpRequestDuration,
    help: 'Duration of HTTP server responses, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly redirects = new Counter({
    name: METRICS.redirects,
    help: 'Redirect responses by outcome and the cache layer that answered.',
    labelNames: ['outcome', 'cache'] as const,
    registers: [this.registry],
  });
  readonly cacheRequests = new Counter({
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
  readonly clicksBuffered = new Counter({ name: METRICS.clicksBuffered, help: 'Click events accepted into the in-process buffer.', registers: [this.registry] });
  readonly clicksPublished = new Counter({ name: METRICS.clicksPublished, help: 'Click events published to the click queue.', registers: [this.registry] });
  readonly clicksDropped = new Counter({
    name: METRICS.clicksDropped,
    help: 'Click events dropped, by reason (backpressure or publish failure).',
    labelNames: ['reason'] as const,
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
}
