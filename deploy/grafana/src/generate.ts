// `npm run dashboards:generate [-- --out DIR]`: the Grafana dashboards as JSON,
// into deploy/grafana/dashboards and the chart's copy.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { outRoot, writeFiles } from '../../slo/files';
import { apiRed } from './api-red';
import { render } from './common';
import { redirectCache } from './redirect-cache';
import { runtime } from './runtime';
import { sloOverview } from './slo-overview';
import { workerQueues } from './worker-queues';

export const DASHBOARDS_DIR = 'deploy/grafana/dashboards';
/** The chart turns every file of this folder into a Grafana dashboard ConfigMap. */
export const CHART_DASHBOARDS_DIR = 'charts/shortener/files/dashboards';

/** Every dashboard, by file name (its uid). */
export function dashboards(): Map<string, dashboard.DashboardBuilder> {
  const all = [sloOverview(), apiRed(), redirectCache(), workerQueues(), runtime()];
  return new Map(all.map((b) => [`${b.build().uid}.json`, b]));
}

/** Every generated file, repository-relative path to content. */
export function dashboardFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, b] of dashboards()) {
    const json = render(b);
    files.set(`${DASHBOARDS_DIR}/${name}`, json);
    files.set(`${CHART_DASHBOARDS_DIR}/${name}`, json);
  }
  return files;
}

/** Writes every file of `dashboardFiles()` under `--out DIR`, or the repository. */
export function main(argv: string[]): void {
  const root = outRoot(argv);
  const files = dashboardFiles();
  writeFiles(root, files);
  console.log(`wrote ${files.size} files under ${root}`);
}
