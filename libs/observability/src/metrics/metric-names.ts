/**
 * Names of every application metric, in one table, so that recording rules,
 * alerts and dashboards (deploy/slo, deploy/grafana) and the code agree.
 *
 * Conventions (Prometheus naming, OpenMetrics): base units (seconds, bytes),
 * counters end in `_total`, label values are bounded (routes are templates).
 * Node.js runtime metrics are prom-client's defaults (`process_*`, `nodejs_*`).
 */
export const METRICS = {
  /**
   * Histogram, labels `method`, `route` (template: `/:code` for the redirect,
   * `/api/v1/links/:code`, ...), `status_code`. Buckets include 0.05 s (redirect
   * latency SLI) and 0.3 s. Serves the redirect and API availability SLIs:
   * redirect = `route="/:code"`, API = `route=~"/api/.*"`.
   */
  httpRequestDuration: 'http_server_request_duration_seconds',
  /** Counter, labels `outcome` (redirect|not_found|gone|rate_limited|overloaded|error), `cache` (lru|redis|db|negative|none). */
  redirects: 'shortener_redirects_total',
  /** Counter, labels `layer` (lru|redis), `result` (hit|miss). */
  cacheRequests: 'shortener_cache_requests_total',
  /** Counter, label `domain`. */
  linksCreated: 'shortener_links_created_total',
  /** Counter: click events accepted into the API's in-process buffer. */
  clicksRecorded: 'shortener_clicks_recorded_total',
  /** Gauge: clicks buffered or being published in this API process (what a `kill -9` would lose). */
  clicksBuffered: 'shortener_clicks_buffered',
  /** Counter: click events published to the queue. */
  clicksPublished: 'shortener_clicks_published_total',
  /** Counter: publishes of a click batch that the queue Redis refused (the batch is kept and retried). */
  clickPublishFailures: 'shortener_click_publish_failures_total',
  /** Counter, label `reason` (queue_full|buffer_full|shutdown): clicks dropped. */
  clicksDropped: 'shortener_clicks_dropped_total',
  /** Gauge: clicks in the click queue (published, not yet committed), from its counter in the queue Redis. */
  clickQueueDepthClicks: 'shortener_click_queue_depth_clicks',
  /**
   * Gauge, seconds: age of the oldest click not yet committed that this
   * process sees (the API: its buffer and the queue; the worker: the queue);
   * 0 when none waits. The click freshness SLI counts clicks as late while
   * its maximum is above 60 s.
   */
  clickOldestWaiting: 'shortener_click_oldest_waiting_seconds',
  /** Counter: click events committed to rollups by the worker. */
  clicksCommitted: 'shortener_clicks_committed_total',
  /** Histogram, seconds from the click to its commit in rollups; buckets include 60 s (freshness SLI). */
  clickIngestLag: 'shortener_click_ingest_lag_seconds',
  /** Gauge, labels `queue`, `state` (waiting|active|delayed|failed|completed|paused). */
  queueJobs: 'shortener_queue_jobs',
  /** Histogram, labels `queue`, `name`, `status` (completed|failed). */
  jobDuration: 'shortener_job_duration_seconds',
  /** Counter, labels `queue`, `name`: attempts that threw. */
  jobFailures: 'shortener_job_failures_total',
  /** Counter, labels `queue`, `name`: jobs that exhausted their retries. */
  jobsExhausted: 'shortener_jobs_exhausted_total',
  /** Counter, label `limiter` (api_key|client|auth_failure|redirect). */
  rateLimited: 'shortener_rate_limited_total',
  /** Counter, label `where` (create|update|redirect): targets refused by the host blocklist. */
  blocklistRefusals: 'shortener_blocklist_refusals_total',
  /** Gauge: 1 while the process is ready. */
  ready: 'shortener_ready',
  /**
   * Gauge, label `dependency` (postgres|redis_cache|redis_queue): 1 when the
   * last check (each readiness probe and each scrape) reached it, else 0.
   * An outage shows here even where it does not fail readiness (API).
   */
  dependencyUp: 'shortener_dependency_up',
} as const;

/**
 * `route` label of requests no route matched (unknown paths, 404 before
 * routing): a fixed value, never the raw URL, so label values stay bounded.
 */
export const UNMATCHED_ROUTE = 'unmatched';

/** Histogram buckets of HTTP durations in seconds; 0.05 is the redirect latency SLO threshold. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5, 10];
/** Histogram buckets of click ingest lag in seconds; 60 is the click freshness SLO threshold. */
export const INGEST_LAG_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900];
