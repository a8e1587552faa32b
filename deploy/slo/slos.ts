// The SLOs of docs/design.md section 7, the one source of truth: the recording rules,
// burn-rate alerts, promtool unit tests and the SLO dashboard are generated from
// this file (`npm run slo:generate`, `npm run dashboards:generate`).
import { HTTP_DURATION_BUCKETS, INGEST_LAG_BUCKETS, METRICS } from '../../libs/observability/src/metrics/metric-names';

/**
 * How an SLI classifies events, modelled on Sloth's `sli.events` (error_query /
 * total_query): each kind knows how to write both queries, so no hand-written
 * PromQL can drift from the metric names of libs/observability.
 */
export type Sli =
  /** Bad events are responses with `status_code` 5xx of a histogram's `_count`; 404, 410, 429 are good. */
  | { kind: 'server-errors'; histogram: string; selector: string }
  /** Bad events are observations above `le` seconds: `_count` minus the `le` bucket. */
  | {
      kind: 'over-threshold';
      histogram: string;
      selector: string;
      le: number;
      /**
       * Events that are late before they are observed: while the gauge `age`
       * (seconds, the oldest event still waiting, any process) is above `le`,
       * the events counted by `arrivals` meanwhile count as bad. Without it an
       * SLI of completed events has no events while nothing completes.
       */
      waiting?: { age: string; arrivals: string };
    };

/** Alerting of one SLO (Sloth's `alerting`): one alert name, a page and a ticket rule. */
export interface SloAlerting {
  /** Alert name shared by the page and the ticket rule (Sloth does the same); also the runbook section. */
  name: string;
  /** Static labels added to both rules (next to `severity`). */
  labels: Record<string, string>;
  /** What users feel, completing the summary annotation `<title> error budget is burning fast: <summary>`. */
  summary: string;
  /** What the SLI measures, for the description annotations. */
  meaning: string;
}

export interface Slo {
  /** `sloth_slo` label: kebab case, unique within the service. */
  name: string;
  /** Human title for dashboards. */
  title: string;
  /** Target in percent over the time window, e.g. 99.9. */
  objective: number;
  sli: Sli;
  alerting: SloAlerting;
}

export interface SloSpec {
  /** `sloth_service` label. */
  service: string;
  /** Rolling SLO window in days (Sloth's `time_window`; the SRE workbook's burn rates assume 30). */
  timeWindowDays: number;
  slos: readonly Slo[];
}

const REDIRECT = 'route="/:code"';
const API = 'route=~"/api/.*"';

export const SPEC: SloSpec = {
  service: 'shortener',
  timeWindowDays: 30,
  slos: [
    {
      name: 'redirect-availability',
      title: 'Redirect availability',
      objective: 99.9,
      sli: { kind: 'server-errors', histogram: METRICS.httpRequestDuration, selector: REDIRECT },
      alerting: {
        name: 'ShortenerRedirectAvailabilityBudgetBurn',
        labels: { category: 'availability' },
        summary: 'short links are failing with server errors.',
        meaning: 'the share of redirect responses (route /:code) with a status below 500; 404, 410 and 429 count as good',
      },
    },
    {
      name: 'redirect-latency',
      title: 'Redirect latency',
      objective: 99,
      sli: { kind: 'over-threshold', histogram: METRICS.httpRequestDuration, selector: REDIRECT, le: 0.05 },
      alerting: {
        name: 'ShortenerRedirectLatencyBudgetBurn',
        labels: { category: 'latency' },
        summary: 'short links are redirecting slowly.',
        meaning: 'the share of redirect responses (route /:code) served within 50 ms',
      },
    },
    {
      name: 'api-availability',
      title: 'API availability',
      objective: 99.5,
      sli: { kind: 'server-errors', histogram: METRICS.httpRequestDuration, selector: API },
      alerting: {
        name: 'ShortenerApiAvailabilityBudgetBurn',
        labels: { category: 'availability' },
        summary: 'the REST API is failing with server errors.',
        meaning: 'the share of API responses (routes /api/...) with a status below 500',
      },
    },
    {
      name: 'click-freshness',
      title: 'Click freshness',
      objective: 99,
      sli: {
        kind: 'over-threshold',
        histogram: METRICS.clickIngestLag,
        selector: '',
        le: 60,
        waiting: { age: METRICS.clickOldestWaiting, arrivals: METRICS.clicksRecorded },
      },
      alerting: {
        name: 'ShortenerClickFreshnessBudgetBurn',
        labels: { category: 'freshness' },
        summary: 'click statistics are falling behind.',
        meaning:
          'the share of clicks committed to the rollups within 60 s of the click, the clicks that arrive while the oldest click still waiting (queued or buffered) is older than 60 s counting as late',
      },
    },
  ],
};

// The thresholds must be bucket boundaries of the histograms, or `le` would
// select no series and the SLI would silently read as 100% bad.
const BUCKETS: Partial<Record<string, readonly number[]>> = {
  [METRICS.httpRequestDuration]: HTTP_DURATION_BUCKETS,
  [METRICS.clickIngestLag]: INGEST_LAG_BUCKETS,
};
for (const slo of SPEC.slos) {
  if (slo.sli.kind === 'over-threshold' && !BUCKETS[slo.sli.histogram]?.includes(slo.sli.le)) {
    throw new Error(`SLO ${slo.name}: ${slo.sli.le} s is not a bucket of ${slo.sli.histogram}`);
  }
}
