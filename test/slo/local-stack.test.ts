// The local stack of `npm run observability:up`: its config passes promtool,
// and the real Prometheus starts with it, loads every rule group, scrapes the
// app targets every second and alerts on the missing apps.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensurePrometheus, freePort, isAlive, pollUntil, prometheusConfig, projectRuleFiles, startPrometheus } from '../../deploy/local/prometheus';
import type { RuleFile } from '../../deploy/slo/rules';
import { run } from './support/exec';

// Installs Debian's prometheus package on a fresh machine (apt-get can take minutes).
beforeAll(() => {
  ensurePrometheus();
}, 600_000);

describe(prometheusConfig.name, () => {
  it.each([1, 15])('passes promtool check config at a %i s interval, with every rule file', async (seconds) => {
    const dir = mkdtempSync(join(tmpdir(), 'slo-config-'));
    try {
      const file = join(dir, 'prometheus.yml');
      writeFileSync(file, prometheusConfig({ intervalSeconds: seconds, listen: '127.0.0.1:9090' }));
      const r = await run('promtool', ['check', 'config', file]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `Checking ${file}\n  SUCCESS: 3 rule files found\n SUCCESS: ${file} is valid prometheus config file syntax\n\n` +
          projectRuleFiles()
            .map((f, i) => `Checking ${f}\n  SUCCESS: ${[7, 8, 61][i]} rules found\n\n`)
            .join(''),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe(startPrometheus.name, () => {
  let dir: string;
  let prom: Awaited<ReturnType<typeof startPrometheus>>;
  let ports: { api: number; worker: number };

  const query = async (expr: string) => {
    const body = (await (await fetch(`${prom.url}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as {
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    return body.data.result;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'slo-prometheus-'));
    // Ports where nothing listens stand for the apps, so the test does not depend on whether they run.
    ports = { api: await freePort(), worker: await freePort() };
    prom = await startPrometheus({
      dir,
      port: await freePort(),
      intervalSeconds: 1,
      targets: [
        { job: 'shortener-api', target: `127.0.0.1:${ports.api}` },
        { job: 'shortener-worker', target: `127.0.0.1:${ports.worker}` },
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('loads every rule group of the project', async () => {
    const body = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { name: string; rules: unknown[]; interval: number }[] } };
    const expected = projectRuleFiles().flatMap((f) => (parse(readFileSync(f, 'utf8')) as RuleFile).groups.map((g) => `${g.name} ${g.rules.length}`));
    expect(body.data.groups.map((g) => `${g.name} ${g.rules.length}`).sort()).toEqual(expected.sort());
    expect(expected).toHaveLength(14);
    expect(body.data.groups.reduce((n, g) => n + g.rules.length, 0)).toBe(76);
    expect(new Set(body.data.groups.map((g) => g.interval))).toEqual(new Set([1]));
  });

  it('scrapes itself and the app targets every second, and the missing apps raise ShortenerTargetMissing', async () => {
    await pollUntil('the first scrapes', async () => (await query('up')).length === 3, 20_000);
    const up = (await query('up')).map((s) => `${s.metric.job} ${s.metric.instance} ${s.value[1]}`).sort();
    expect(up).toEqual([`prometheus ${prom.url.slice(7)} 1`, `shortener-api 127.0.0.1:${ports.api} 0`, `shortener-worker 127.0.0.1:${ports.worker} 0`]);
    expect((await query('scrape_duration_seconds{job="prometheus"}')).length).toBe(1);
    await pollUntil('the alert rules to evaluate', async () => (await query('ALERTS{alertname="ShortenerTargetMissing"}')).length === 2, 20_000);
    const alerts = (await query('ALERTS{alertname="ShortenerTargetMissing"}')).map((s) => s.metric);
    expect(alerts.sort((a, b) => a.job.localeCompare(b.job))).toEqual([
      { __name__: 'ALERTS', alertname: 'ShortenerTargetMissing', alertstate: 'pending', job: 'shortener-api', severity: 'page' },
      { __name__: 'ALERTS', alertname: 'ShortenerTargetMissing', alertstate: 'pending', job: 'shortener-worker', severity: 'page' },
    ]);
  }, 60_000);

  it('stops', async () => {
    await prom.stop();
    expect(isAlive(prom.pid)).toBe(false);
  }, 30_000);
});
