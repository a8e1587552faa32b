import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { find, helm, render, ROOT } from './support/helm';

// skaffold.yaml validates against skaffold's published JSON schema for
// v4beta14 (copied from shared/schemas into test/fixtures/schemas), and what
// it points at exists: the Dockerfile and its stage, the chart, its values,
// and the Services the dev profile forwards.

type Skaffold = any;
const config: Skaffold = parse(readFileSync(path.join(ROOT, 'skaffold.yaml'), 'utf8'));
const schema = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/schemas/skaffold-v4beta14.json'), 'utf8')) as object;
// strict: false, because the schema carries editor keywords (x-intellij-html-description, preferredOrder).
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

describe('skaffold.yaml', () => {
  it('validates against the skaffold v4beta14 schema', () => {
    expect(config.apiVersion).toBe('skaffold/v4beta14');
    expect(validate(config)).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
  });

  it('is checked by a schema that refuses unknown fields (the check itself works)', () => {
    const broken = structuredClone(config);
    broken.deploy.helm.releases[0].chart = 'charts/shortener';
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.some((e) => e.keyword === 'additionalProperties' && e.params.additionalProperty === 'chart')).toBe(true);
  });

  it('builds the image from deploy/docker/Dockerfile, up to its runtime stage, with the repository as context', () => {
    expect(config.build.artifacts).toEqual([{ image: 'shortener', context: '.', docker: { dockerfile: 'deploy/docker/Dockerfile', target: 'runtime' } }]);
    const dockerfile = readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(existsSync(path.join(ROOT, '.dockerignore'))).toBe(true);
    expect(config.build.local).toEqual({ useBuildkit: true });
  });

  it('deploys the chart with helm, with the built image and the dev values', () => {
    const [release] = config.deploy.helm.releases;
    expect(config.deploy.helm.releases).toHaveLength(1);
    expect(parse(readFileSync(path.join(ROOT, release.chartPath, 'Chart.yaml'), 'utf8')).name).toBe('shortener');
    for (const f of release.valuesFiles) expect(existsSync(path.join(ROOT, f))).toBe(true);
    expect(release.setValueTemplates).toEqual({ 'image.repository': '{{.IMAGE_REPO_shortener}}', 'image.tag': '{{.IMAGE_TAG_shortener}}' });
    expect([release.name, release.namespace, release.createNamespace, release.wait]).toEqual(['shortener', 'shortener', true, true]);
  });

  it('has a dev profile, active under `skaffold dev`, whose values render and whose port-forwards hit real Service ports', () => {
    const [dev] = config.profiles;
    expect(config.profiles.map((p: { name: string }) => p.name)).toEqual(['dev']);
    expect(dev.activation).toEqual([{ command: 'dev' }]);
    const setValues = dev.patches.find((p: { path: string }) => p.path === '/deploy/helm/releases/0/setValues').value as Record<string, unknown>;
    expect(dev.patches.find((p: { path: string }) => p.path === '/build/local/push').value).toBe(false);
    const [release] = config.deploy.helm.releases;
    const objects = render(helm(3), {
      release: release.name,
      namespace: release.namespace,
      valuesFiles: release.valuesFiles.map((f: string) => path.join(ROOT, f)),
      set: [...Object.entries(setValues).map(([k, v]) => `${k}=${String(v)}`), 'image.repository=shortener'],
      setString: ['image.tag=dev-abc1234'],
    });
    expect(objects.filter((o) => o.kind === 'Pod')).toEqual([]);
    for (const fwd of dev.portForward) {
      expect(fwd.resourceType).toBe('service');
      expect(fwd.namespace).toBe(release.namespace);
      const service = find(objects, 'Service', fwd.resourceName);
      expect(service.spec.ports.map((p: { port: number }) => p.port)).toContain(fwd.port);
    }
    expect(dev.portForward.map((f: { localPort: number }) => f.localPort)).toEqual([8080, 9464]);
    // Short URLs built from the dev public base URL resolve through the forwarded port.
    expect(find(objects, 'ConfigMap', 'shortener').data.PUBLIC_BASE_URL).toBe('http://localhost:8080');
  });
});
