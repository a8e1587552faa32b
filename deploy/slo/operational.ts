// Alerts on causes that the SLO burn-rate alerts cannot see: an SLI computed
// from metrics is silent (not good, not bad) when its metrics stop arriving,
// and click freshness is only measured for clicks that do get committed.
import { METRICS } from '../../libs/observability/src/metrics/metric-names';
import { type RuleFile, runbookUrl } from './rules';

/**
 * Scrape jobs of the two processes. Locally (deploy/local) the jobs are named
 * exactly so; in Kubernetes a ServiceMonitor names the job after the Service,
 * which a Helm release may prefix, hence the leading `.*`.
 */
export const JOBS = { api: 'shortener-api', worker: 'shortener-worker' } as const;
export const JOB_MATCHER = `job=~".*(${JOBS.api}|${JOBS.worker})"`;

/** Minutes without a completed job, with jobs waiting, before a queue counts as stuck. */
export const QUEUE_STUCK_MINUTES = 10;
/** Mean ingest lag (seconds) past which a growing lag alerts: half the click freshness threshold of 60 s. */
export const INGEST_LAG_WARN_SECONDS = 30;
/** Minutes the click queue's depth in clicks must keep growing before it warns. */
export const CLICK_QUEUE_GROWING_MINUTES = 10;

const meanLag = (window: string): string => `sum(rate(${METRICS.clickIngestLag}_sum[${window}])) / sum(rate(${METRICS.clickIngestLag}_count[${window}]))`;

/**
 * `deploy/prometheus/rules/operational-alerts.yaml`. Symptom-based paging
 * (SRE workbook, chapter 5) leaves these gaps, so each rule covers one:
 * - a target that fails its scrape (`up == 0`, Prometheus docs "Jobs and
 *   instances"), and a job with no healthy target at all (`absent(up == 1)`),
 *   in which case every SLI of that process has no data and never burns;
 * - a queue with waiting jobs and no completed job: clicks stop being
 *   committed, so the freshness SLI, which measures committed clicks, is silent;
 * - a mean ingest lag that is high and still rising: a warning before the
 *   freshness budget burns;
 * - clicks dropped (the product's first promise broken, whatever the SLIs
 *   say: redirects stay fast and green while it happens), and a click queue
 *   whose depth in clicks keeps growing (the queue Redis fills towards
 *   `CLICK_MAX_QUEUE_CLICKS` and its memory limit).
 */
export function operationalRuleFile(): RuleFile {
  return {
    groups: [
      {
        name: 'shortener-targets',
        rules: [
          {
            alert: 'ShortenerTargetDown',
            expr: `up{${JOB_MATCHER}} == 0`,
            for: '5m',
            labels: { severity: 'ticket' },
            annotations: {
              summary: 'Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}.',
              description:
                'The scrape of {{ $labels.instance }} (job {{ $labels.job }}) has failed for 5 minutes: the process is down, ' +
                'restarting, or its management port (/metrics) is unreachable. Its requests are missing from every SLI.',
              runbook_url: runbookUrl('ShortenerTargetDown'),
            },
          },
          ...(['api', 'worker'] as const).map((role) => ({
            alert: 'ShortenerTargetMissing',
            // `absent(up == 1)` covers both no target at all (service discovery
            // lost it, no pods) and every target failing its scrape.
            expr: `absent(up{job=~".*${JOBS[role]}"} == 1)`,
            for: '5m',
            labels: { job: JOBS[role], severity: 'page' },
            annotations: {
              // Static text: `absent()` returns no labels, and templates see the
              // expression's labels, not the rule's.
              summary: `No ${JOBS[role]} target has been scraped successfully for 5 minutes.`,
              description:
                `Prometheus has had no successful scrape of any ${JOBS[role]} target for 5 minutes. ` +
                (role === 'api'
                  ? 'The redirect and API SLIs have no data, so their burn-rate alerts cannot fire: treat it as an outage until shown otherwise.'
                  : 'No clicks are being committed and the click freshness SLI has no data, so its burn-rate alerts cannot fire.'),
              runbook_url: runbookUrl('ShortenerTargetMissing'),
            },
          })),
        ],
      },
      {
        name: 'shortener-queues',
        rules: [
          {
            alert: 'ShortenerQueueStuck',
            // `unless` rather than `and ... == 0`: a worker that never completed
            // a job has no `status="completed"` series at all.
            expr:
              `(max by (queue) (${METRICS.queueJobs}{state="waiting"}) > 0)\n` +
              `unless on (queue)\n` +
              `(sum by (queue) (increase(${METRICS.jobDuration}_count{status="completed"}[${QUEUE_STUCK_MINUTES}m])) > 0)\n`,
            for: `${QUEUE_STUCK_MINUTES}m`,
            labels: { severity: 'page' },
            annotations: {
              summary: `Queue {{ $labels.queue }} has waiting jobs and has completed none for ${2 * QUEUE_STUCK_MINUTES} minutes.`,
              description:
                `Queue {{ $labels.queue }} has {{ $value }} jobs waiting; jobs have been waiting for ${QUEUE_STUCK_MINUTES} minutes ` +
                `and none has completed for ${2 * QUEUE_STUCK_MINUTES} (a ${QUEUE_STUCK_MINUTES}-minute window held for ${QUEUE_STUCK_MINUTES} minutes). ` +
                'Clicks are not reaching the rollups, the queue Redis grows (noeviction), and the click freshness SLI ' +
                'cannot see it because it measures committed clicks only.',
              runbook_url: runbookUrl('ShortenerQueueStuck'),
            },
          },
          {
            alert: 'ShortenerClickIngestLagGrowing',
            expr: `(${meanLag('5m')}) > ${INGEST_LAG_WARN_SECONDS}\nand\n(${meanLag('5m')}) > (${meanLag('30m')})\n`,
            for: '10m',
            labels: { severity: 'ticket' },
            annotations: {
              summary: 'Click ingest lag is high and rising.',
              description:
                `The mean time from click to commit over 5 minutes is {{ $value | humanizeDuration }}, above ${INGEST_LAG_WARN_SECONDS}s ` +
                'and above its 30-minute mean, for 10 minutes: the worker is falling behind the clicks, and the click freshness ' +
                'SLO (60 s) will start to burn.',
              runbook_url: runbookUrl('ShortenerClickIngestLagGrowing'),
            },
          },
          {
            alert: 'ShortenerClicksDropped',
            expr: `sum by (reason) (increase(${METRICS.clicksDropped}{${JOB_MATCHER}}[5m])) > 0`,
            labels: { severity: 'page' },
            annotations: {
              summary: 'Clicks are being dropped ({{ $labels.reason }}).',
              description:
                'The API dropped {{ $value | humanize }} clicks in the last 5 minutes, reason {{ $labels.reason }}: ' +
                'queue_full (the click queue holds CLICK_MAX_QUEUE_CLICKS), buffer_full (the queue Redis refuses publishes ' +
                'and an API buffer is full) or shutdown (a process stopped with clicks it could not publish). ' +
                'Redirects are served, but these clicks are missing from the analytics for good.',
              runbook_url: runbookUrl('ShortenerClicksDropped'),
            },
          },
          {
            alert: 'ShortenerClickQueueGrowing',
            expr: `deriv(max(${METRICS.clickQueueDepthClicks}{${JOB_MATCHER}})[5m:1m]) > 0`,
            for: `${CLICK_QUEUE_GROWING_MINUTES}m`,
            labels: { severity: 'ticket' },
            annotations: {
              summary: `The click queue has grown for ${CLICK_QUEUE_GROWING_MINUTES} minutes.`,
              description:
                `The clicks waiting in the click queue have kept growing for ${CLICK_QUEUE_GROWING_MINUTES} minutes ` +
                '({{ $value | humanize }} more clicks a second): the worker commits fewer clicks than the redirects make. ' +
                'The queue Redis fills (about 300 bytes a click); at CLICK_MAX_QUEUE_CLICKS, or when Redis is full, clicks are dropped.',
              runbook_url: runbookUrl('ShortenerClickQueueGrowing'),
            },
          },
        ],
      },
    ],
  };
}
