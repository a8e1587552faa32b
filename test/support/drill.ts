import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './child-process';
import { TEST_ADMIN_KEY } from './test-env';

/**
 * Pieces the fault drills (test/engines/drill-*.test.ts) share: a redirect
 * load that counts what it was served, scrapes of a compiled app's
 * Prometheus metrics, and the clicks PostgreSQL committed.
 */

/** What a redirect load got back so far. */
export interface RedirectTally {
  /** Requests sent. */
  sent: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
  /** Requests that got no answer (connection refused or reset). */
  failed: number;
  /** Duration of each answered request (ms), in the order answered. */
  latenciesMs: number[];
}

/** A running redirect load. */
export interface RedirectLoad {
  tally: RedirectTally;
  /** Redirects answered 302 so far: each one a click the API recorded. */
  served(): number;
  /** Resolves once `total` requests were answered or failed, or after {@link stop}. */
  done: Promise<RedirectTally>;
  /** Sends no further request; resolves once those in flight have settled. */
  stop(): Promise<RedirectTally>;
}

/**
 * Sends `GET <baseUrl><path>` for the given paths in turn over `concurrency`
 * keep-alive connections, each waiting for its answer before the next
 * request (no pipelining: a redirect whose click was recorded has been read
 * by the client before that connection sends again), until `total` were sent
 * or {@link RedirectLoad.stop}.
 */
export function startRedirectLoad(baseUrl: string, paths: readonly string[], options: { concurrency?: number; total?: number } = {}): RedirectLoad {
  const { concurrency = 8, total = Infinity } = options;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const tally: RedirectTally = { sent: 0, statuses: {}, failed: 0, latenciesMs: [] };
  let stopped = false;
  const once = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = request(
        `${baseUrl}${path}`,
        { agent, headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' } },
        (res) => {
          res.resume();
          res.once('end', () => {
            tally.latenciesMs.push(performance.now() - started);
            tally.statuses[res.statusCode ?? 0] = (tally.statuses[res.statusCode ?? 0] ?? 0) + 1;
            resolve();
          });
          res.once('error', () => {
            tally.failed += 1;
            resolve();
          });
        },
      );
      req.once('error', () => {
        tally.failed += 1;
        resolve();
      });
      req.end();
    });
  const loop = async (): Promise<void> => {
    while (!stopped && tally.sent < total) {
      const path = paths[tally.sent % paths.length];
      tally.sent += 1;
      await once(path);
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, loop)).then(() => {
    agent.destroy();
    return tally;
  });
  return {
    tally,
    served: () => tally.statuses[302] ?? 0,
    done,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/** The `q`-quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** The text a compiled app's `/metrics` answers (Prometheus exposition format). */
export async function scrape(managementUrl: string): Promise<string> {
  const res = await fetch(`${managementUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** One sample of a scrape: the metric name, its labels, its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of metric `name` in a scrape (label values without escapes, as the apps write them). */
export function samplesOf(text: string, name: string): Sample[] {
  const line = new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  return [...text.matchAll(line)].map((m) => ({
    name,
    labels: Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])),
    value: Number(m[2]),
  }));
}

/** The sum of metric `name` over its series whose labels include `labels` (0 when there is none). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  return samplesOf(text, name)
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Creates a link through the API with the bootstrapped admin key; returns its code and id. */
export async function createDrillLink(apiUrl: string, target: string, db: Client): Promise<{ code: string; id: string }> {
  const res = await fetch(`${apiUrl}/api/v1/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: target }),
  });
  const body = (await res.json()) as { code?: string };
  if (res.status !== 201 || !body.code) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(body)}`);
  const { rows } = await db.query<{ id: string }>('SELECT id::text AS id FROM links WHERE code = $1', [body.code]);
  return { code: body.code, id: rows[0].id };
}

/**
 * Clicks of a link committed to PostgreSQL: the hourly rollup's sum, which
 * must equal the link's `click_total` (the worker writes both in one transaction).
 */
export async function committedClicks(db: Client, linkId: string): Promise<number> {
  const { rows } = await db.query<{ hourly: number; total: number }>(
    `SELECT (SELECT coalesce(sum(human_clicks + bot_clicks), 0)::int FROM link_clicks_hourly WHERE link_id = $1) AS hourly,
            (SELECT click_total::int FROM links WHERE id = $1) AS total`,
    [linkId],
  );
  if (rows[0].hourly !== rows[0].total) throw new Error(`rollup holds ${rows[0].hourly} clicks, click_total ${rows[0].total}`);
  return rows[0].hourly;
}

/** Seconds between the scrapes an alert evaluation places on Prometheus's timeline (its default scrape interval). */
export const SCRAPE_INTERVAL_SECONDS = 15;

/**
 * Evaluates the expression of alert `alert` (deploy/prometheus/rules/operational-alerts.yaml,
 * as the chart ships it) with `promtool test rules` over the series of
 * `metric` in `scrapes`, as Prometheus would have stored them had it taken
 * them {@link SCRAPE_INTERVAL_SECONDS} apart with target labels `target`
 * (a series missing from a scrape is a missing sample), at the time of the
 * last scrape. Expects exactly one series per label set of `firing` (the
 * labels the expression keeps), each with a value above 0: the alert's
 * condition holds for those and no others.
 *
 * @returns whether promtool agreed, and what it printed (got and expected, when not).
 */
export async function alertHolds(
  alert: string,
  scrapes: readonly string[],
  metric: string,
  target: Record<string, string>,
  firing: readonly Record<string, string>[],
): Promise<{ ok: boolean; output: string }> {
  const rules = parse(readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/rules/operational-alerts.yaml'), 'utf8')) as {
    groups: { rules: { alert?: string; expr: string }[] }[];
  };
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  if (!rule) throw new Error(`no alert ${alert} in operational-alerts.yaml`);
  const labelText = (labels: Record<string, string>) =>
    `{${Object.entries(labels)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
  const series = new Map<string, (number | undefined)[]>();
  scrapes.forEach((text, i) => {
    for (const sample of samplesOf(text, metric)) {
      const key = `${metric}${labelText({ ...target, ...sample.labels })}`;
      if (!series.has(key)) series.set(key, new Array<number | undefined>(scrapes.length).fill(undefined));
      series.get(key)![i] = sample.value;
    }
  });
  const interval = `${SCRAPE_INTERVAL_SECONDS}s`;
  const file = {
    evaluation_interval: interval,
    tests: [
      {
        interval,
        input_series: [...series].map(([name, values]) => ({ series: name, values: values.map((v) => (v === undefined ? '_' : String(v))).join(' ') })),
        promql_expr_test: [
          {
            // The alert's own expression; `> bool 0` turns each value it keeps into 1.
            expr: `(${rule.expr}) > bool 0`,
            eval_time: `${(scrapes.length - 1) * SCRAPE_INTERVAL_SECONDS}s`,
            exp_samples: firing.map((labels) => ({ labels: labelText(labels), value: 1 })),
          },
        ],
      },
    ],
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'shortener-alert-'));
  try {
    writeFileSync(path.join(dir, 'test.yaml'), stringify(file));
    const result = await promisify(execFile)('promtool', ['test', 'rules', path.join(dir, 'test.yaml')]).then(
      (r) => ({ ok: true, output: r.stdout + r.stderr }),
      (e: { stdout?: string; stderr?: string; message: string }) => ({ ok: false, output: `${e.stdout ?? ''}${e.stderr ?? e.message}` }),
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
