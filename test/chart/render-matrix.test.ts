import { readdirSync } from 'node:fs';
import path from 'node:path';
import { CHART_DIR, ciValuesFiles, helm, helmBinaries, inventory, K8sObject, lint, runHelm, template } from './support/helm';
import { validateObjects } from './support/schemas';
import { typeCheckObjects } from './support/types';

// Every supported combination (ci/*-values.yaml) with Helm 3 and Helm 4, on a
// cluster without and with the monitoring and KEDA CRDs: lint --strict passes,
// the render succeeds, every object validates against its schema, and both
// Helm majors render the same objects.

const files = ciValuesFiles();
const hasRules = readdirSync(path.join(CHART_DIR, 'files/rules')).some((f) => f.endsWith('.yaml'));
const dashboards = readdirSync(path.join(CHART_DIR, 'files/dashboards')).filter((f) => f.endsWith('.json'));
const renders = new Map<string, K8sObject[]>();
// Schema errors and unknown-field errors per distinct object (JSON text): the
// renders share most objects, so each is checked once, in one batch per checker.
const problems = new Map<string, string[]>();

const key = (major: number, file: string, withCrds: boolean) => `${major} ${file} ${withCrds ? 'crds' : 'plain'}`;

beforeAll(() => {
  for (const bin of helmBinaries()) {
    for (const file of files) {
      for (const withCrds of [false, true]) {
        const run = template(bin, { valuesFiles: [file], withCrds });
        if (run.status !== 0) throw new Error(`helm ${bin.major} template -f ${file}${withCrds ? ' (CRDs)' : ''} failed:\n${run.stderr}`);
        renders.set(key(bin.major, file, withCrds), run.objects);
      }
    }
  }
  const distinct = [...new Map([...renders.values()].flat().map((o) => [JSON.stringify(o), o])).values()];
  for (const o of distinct) problems.set(JSON.stringify(o), []);
  validateObjects(distinct).forEach((r, i) => {
    if (r.error !== null) problems.get(JSON.stringify(distinct[i]))!.push(`schema: ${r.error}`);
  });
  const byName = new Map(distinct.map((o) => [`${o.apiVersion} ${o.kind}/${o.metadata.name}`, [] as K8sObject[]]));
  for (const o of distinct) byName.get(`${o.apiVersion} ${o.kind}/${o.metadata.name}`)!.push(o);
  for (const p of typeCheckObjects(distinct)) {
    // A type problem names its object; every rendered variant of that object is marked.
    for (const o of byName.get(p.object) ?? distinct) problems.get(JSON.stringify(o))!.push(`fields: ${p.message}`);
  }
}, 120_000);

describe('the ci values matrix', () => {
  it('holds the supported combinations', () => {
    expect(files).toEqual([
      'ci/cloudnativepg-keda-prometheus-values.yaml',
      'ci/dev-values.yaml',
      'ci/existing-secret-values.yaml',
      'ci/minimal-values.yaml',
      'ci/production-values.yaml',
      'ci/single-replica-values.yaml',
    ]);
  });

  it('uses the Helm majors the issue asks for', () => {
    const versions = helmBinaries().map((bin) => runHelm(bin, ['version', '--short']).stdout.trim());
    expect(versions).toEqual([expect.stringMatching(/^v3\.17\.\d+/), expect.stringMatching(/^v4\.1\.\d+/)]);
  });
});

describe.each([3, 4] as const)('Helm %i', (major) => {
  it.each(files)('lints %s with --strict', (file) => {
    const run = lint(helm(major), { valuesFiles: [file] });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  it('lints the chart with its defaults (the missing-value checks only inform under lint)', () => {
    const run = lint(helm(major));
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
  });

  describe.each([false, true])('with CRDs %s', (withCrds) => {
    it.each(files)('renders %s into objects that all validate, with no unknown field', (file) => {
      const objects = renders.get(key(major, file, withCrds))!;
      expect(objects.length).toBeGreaterThan(8);
      const invalid = objects
        .map((o) => ({ object: `${o.kind}/${o.metadata.name}`, problems: problems.get(JSON.stringify(o))! }))
        .filter((r) => r.problems.length > 0);
      expect(invalid).toEqual([]);
    });

    it.each(files)('renders CRD-backed objects of %s only where the CRDs are served', (file) => {
      const objects = renders.get(key(major, file, withCrds))!;
      const crdKinds = objects.filter((o) => /monitoring\.coreos\.com|keda\.sh/.test(o.apiVersion)).map((o) => o.kind);
      if (!withCrds) {
        expect(crdKinds).toEqual([]);
        return;
      }
      const kedaFiles = ['ci/cloudnativepg-keda-prometheus-values.yaml', 'ci/production-values.yaml'];
      const expected = ['ServiceMonitor', ...(hasRules ? ['PrometheusRule'] : [])];
      if (kedaFiles.includes(file)) expected.push('ScaledObject');
      if (file === 'ci/production-values.yaml') expected.push('TriggerAuthentication');
      expect(crdKinds.sort()).toEqual(expected.sort());
    });

    it.each(files)('renders one dashboard ConfigMap per files/dashboards/*.json for %s', (file) => {
      const objects = renders.get(key(major, file, withCrds))!;
      const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
      const slug = (f: string) =>
        f
          .replace(/\.json$/, '')
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-+|-+$/g, '');
      expect(configMaps.map((c) => Object.keys(c.data)[0]).sort()).toEqual(dashboards.map((f) => `${slug(f)}.json`).sort());
    });
  });
});

describe('Helm 3 and Helm 4', () => {
  it.each(files)('render %s into the same objects', (file) => {
    for (const withCrds of [false, true]) {
      const three = renders.get(key(3, file, withCrds))!;
      const four = renders.get(key(4, file, withCrds))!;
      expect(inventory(four)).toEqual(inventory(three));
      expect(four).toEqual(three);
    }
  });
});
