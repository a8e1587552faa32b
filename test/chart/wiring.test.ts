import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { envSchema } from '../../libs/config/src/env.schema';
import { CHART_DIR, find, helm, K8sObject, NAMESPACE, render, ROOT, template } from './support/helm';

// The wiring between the chart and the app: ports, probes, commands, the
// migration hook, selectors, security, autoscaling and disruption budgets.
// Helm 3 renders here; render-matrix.test.ts shows Helm 4 renders the same.

const h3 = helm(3);
const minimal = render(h3, { valuesFiles: ['ci/minimal-values.yaml'] });
const production = render(h3, { valuesFiles: ['ci/production-values.yaml'], withCrds: true });
const single = render(h3, { valuesFiles: ['ci/single-replica-values.yaml'] });

const container = (o: K8sObject, name: string) => {
  const spec = o.kind === 'Pod' ? o.spec : o.spec.template.spec;
  const c = spec.containers.find((x: { name: string }) => x.name === name);
  if (!c) throw new Error(`${o.kind}/${o.metadata.name} has no container ${name}`);
  return c;
};
const podSpec = (o: K8sObject) => (o.kind === 'Pod' ? o.spec : o.spec.template.spec);
const portNumber = (c: { ports: { name: string; containerPort: number }[] }, name: string) => c.ports.find((p) => p.name === name)?.containerPort;
const envValue = (c: { env: { name: string; value?: string }[] }, name: string) => c.env.find((e) => e.name === name)?.value;
const selectorOf = (component: string) => ({
  'app.kubernetes.io/name': 'shortener',
  'app.kubernetes.io/instance': 't',
  'app.kubernetes.io/component': component,
});

describe('processes', () => {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const commandLine = (c: { command: string[]; args: string[] }) => [...c.command, ...c.args].join(' ');

  it('runs the API, worker and migrations with the commands package.json starts them with', () => {
    expect(commandLine(container(find(minimal, 'Deployment', 't-shortener-api'), 'api'))).toBe(scripts['start:api']);
    expect(commandLine(container(find(minimal, 'Deployment', 't-shortener-worker'), 'worker'))).toBe(scripts['start:worker']);
    expect(commandLine(container(find(minimal, 'Job', 't-shortener-migrations'), 'migrations'))).toBe(scripts.migrate);
    expect(scripts['start:api']).toBe('node --require ./dist/libs/observability/src/tracing/register.js dist/apps/api/src/main.js');
    expect(scripts.migrate).toBe('node dist/libs/database/src/migration/migrate.main.js');
  });

  it('tells each process its ports through HTTP_PORT and MANAGEMENT_PORT', () => {
    const api = container(find(minimal, 'Deployment', 't-shortener-api'), 'api');
    const worker = container(find(minimal, 'Deployment', 't-shortener-worker'), 'worker');
    expect(api.ports).toEqual([
      { name: 'http', containerPort: 3000, protocol: 'TCP' },
      { name: 'management', containerPort: 9464, protocol: 'TCP' },
    ]);
    expect([envValue(api, 'HTTP_PORT'), envValue(api, 'MANAGEMENT_PORT')]).toEqual(['3000', '9464']);
    expect(worker.ports).toEqual([{ name: 'management', containerPort: 9465, protocol: 'TCP' }]);
    expect(envValue(worker, 'MANAGEMENT_PORT')).toBe('9465');
    expect(envValue(worker, 'WORKER_CONCURRENCY')).toBe('32');
  });

  it.each([
    ['t-shortener-api', 'api', 9464],
    ['t-shortener-worker', 'worker', 9465],
  ])('probes %s on its management port: startup, live, ready', (name, c, port) => {
    const ctr = container(find(minimal, 'Deployment', name), c);
    const probe = (p: { httpGet: { path: string; port: string } }) => [p.httpGet.path, portNumber(ctr, p.httpGet.port)];
    expect(probe(ctr.startupProbe)).toEqual(['/health/startup', port]);
    expect(probe(ctr.livenessProbe)).toEqual(['/health/live', port]);
    expect(probe(ctr.readinessProbe)).toEqual(['/health/ready', port]);
    expect(ctr.startupProbe).toMatchObject({ periodSeconds: 2, failureThreshold: 60 });
  });

  it('sets NODE_ENV=production and only variables the app reads (or Node, the OpenTelemetry SDK and downward API)', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const configMap = find(minimal, 'ConfigMap', 't-shortener');
    expect(configMap.data.NODE_ENV).toBe('production');
    const api = container(find(production, 'Deployment', 't-shortener-api'), 'api');
    const names = [...Object.keys(find(production, 'ConfigMap', 't-shortener').data), ...api.env.map((e: { name: string }) => e.name)];
    const foreign = names.filter((n) => !known.has(n) && n !== 'NODE_OPTIONS' && !n.startsWith('OTEL_') && !n.startsWith('K8S_'));
    expect(foreign).toEqual([]);
  });

  it('reads the secrets from the release Secret, optional ones as optional', () => {
    const api = container(find(minimal, 'Deployment', 't-shortener-api'), 'api');
    const refs = Object.fromEntries(
      api.env
        .filter((e: { valueFrom?: { secretKeyRef?: unknown } }) => e.valueFrom?.secretKeyRef)
        .map((e: { name: string; valueFrom: { secretKeyRef: unknown } }) => [e.name, e.valueFrom.secretKeyRef]),
    );
    expect(refs).toEqual({
      API_KEY_PEPPER: { name: 't-shortener', key: 'API_KEY_PEPPER' },
      BOOTSTRAP_ADMIN_KEY: { name: 't-shortener', key: 'BOOTSTRAP_ADMIN_KEY', optional: true },
      CLICK_IP_SALT: { name: 't-shortener', key: 'CLICK_IP_SALT' },
      CODE_PERMUTATION_KEY: { name: 't-shortener', key: 'CODE_PERMUTATION_KEY' },
      DATABASE_REPLICA_URLS: { name: 't-shortener', key: 'DATABASE_REPLICA_URLS', optional: true },
      DATABASE_URL: { name: 't-shortener', key: 'DATABASE_URL' },
      REDIS_CACHE_URL: { name: 't-shortener', key: 'REDIS_CACHE_URL' },
      REDIS_QUEUE_URL: { name: 't-shortener', key: 'REDIS_QUEUE_URL' },
    });
  });

  it('takes a variable from another Secret through secrets.refs (CloudNativePG app Secret)', () => {
    const objects = render(h3, { valuesFiles: ['ci/cloudnativepg-keda-prometheus-values.yaml'] });
    for (const [kind, name, c] of [
      ['Deployment', 't-shortener-api', 'api'],
      ['Job', 't-shortener-migrations', 'migrations'],
    ]) {
      const db = container(find(objects, kind, name), c).env.find((e: { name: string }) => e.name === 'DATABASE_URL');
      expect(db.valueFrom.secretKeyRef).toEqual({ name: 'shortener-db-app', key: 'uri' });
    }
    expect(find(objects, 'Secret', 't-shortener').stringData.DATABASE_URL).toBeUndefined();
  });

  it('rolls the pods when the configuration changes', () => {
    const checksum = (objects: K8sObject[]) => find(objects, 'Deployment', 't-shortener-api').spec.template.metadata.annotations['checksum/config'];
    const changed = render(h3, { valuesFiles: ['ci/minimal-values.yaml'], set: ['config.logLevel=debug'] });
    expect(checksum(minimal)).toMatch(/^[0-9a-f]{64}$/);
    expect(checksum(changed)).not.toBe(checksum(minimal));
    expect(find(minimal, 'Deployment', 't-shortener-worker').spec.template.metadata.annotations['checksum/config']).toBe(checksum(minimal));
  });
});

describe.each([3, 4] as const)('V8 heap (Helm %i)', (major) => {
  const defaults = parse(readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<'api' | 'worker', { nodeOptions: string }>;
  const nodeOptions = (objects: K8sObject[], c: 'api' | 'worker') =>
    container(find(objects, 'Deployment', `t-shortener-${c}`), c).env.filter((e: { name: string }) => e.name === 'NODE_OPTIONS');

  it('sizes the heap of the API and the worker through NODE_OPTIONS, with the values.yaml defaults', () => {
    const objects = render(helm(major), { valuesFiles: ['ci/minimal-values.yaml'] });
    expect(defaults.api.nodeOptions).toMatch(/^--max-semi-space-size=16 --max-old-space-size=\d+$/);
    for (const c of ['api', 'worker'] as const) expect(nodeOptions(objects, c)).toEqual([{ name: 'NODE_OPTIONS', value: defaults[c].nodeOptions }]);
    expect(nodeOptions(objects, 'api')).toEqual(nodeOptions(minimal, 'api'));
    expect(nodeOptions(production, 'api')).toEqual([{ name: 'NODE_OPTIONS', value: '--max-semi-space-size=16 --max-old-space-size=224' }]);
    expect(container(find(objects, 'Job', 't-shortener-migrations'), 'migrations').env.map((e: { name: string }) => e.name)).not.toContain('NODE_OPTIONS');
  });

  it('takes other flags per component, and leaves NODE_OPTIONS unset when emptied', () => {
    const objects = render(helm(major), {
      valuesFiles: ['ci/minimal-values.yaml'],
      setString: ['api.nodeOptions=', 'worker.nodeOptions=--max-old-space-size=300 --heapsnapshot-near-heap-limit=1'],
    });
    expect(nodeOptions(objects, 'api')).toEqual([]);
    expect(nodeOptions(objects, 'worker')).toEqual([{ name: 'NODE_OPTIONS', value: '--max-old-space-size=300 --heapsnapshot-near-heap-limit=1' }]);
  });
});

describe('shutdown', () => {
  it('gives each pod a grace period covering the preStop sleep and the drain (SHUTDOWN_TIMEOUT_MS) plus 5 s', () => {
    expect(find(minimal, 'ConfigMap', 't-shortener').data.SHUTDOWN_TIMEOUT_MS).toBe('25000');
    expect(podSpec(find(minimal, 'Deployment', 't-shortener-api')).terminationGracePeriodSeconds).toBe(10 + 25 + 5);
    expect(podSpec(find(minimal, 'Deployment', 't-shortener-worker')).terminationGracePeriodSeconds).toBe(5 + 25 + 5);
    const slow = render(h3, { valuesFiles: ['ci/minimal-values.yaml'], set: ['config.shutdownTimeoutMs=60001', 'api.preStopSleepSeconds=15'] });
    expect(podSpec(find(slow, 'Deployment', 't-shortener-api')).terminationGracePeriodSeconds).toBe(15 + 61 + 5);
  });

  it('sleeps before SIGTERM with the lifecycle sleep action from Kubernetes 1.30, an exec sleep before', () => {
    const modern = render(h3, { valuesFiles: ['ci/minimal-values.yaml'], kubeVersion: '1.30.0' });
    const older = render(h3, { valuesFiles: ['ci/minimal-values.yaml'], kubeVersion: '1.29.5' });
    expect(container(find(modern, 'Deployment', 't-shortener-api'), 'api').lifecycle).toEqual({ preStop: { sleep: { seconds: 10 } } });
    expect(container(find(older, 'Deployment', 't-shortener-api'), 'api').lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '10'] } } });
    expect(container(find(modern, 'Deployment', 't-shortener-worker'), 'worker').lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
  });

  it('refuses clusters older than 1.28', () => {
    const run = template(h3, { valuesFiles: ['ci/minimal-values.yaml'], kubeVersion: '1.27.9' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('chart requires kubeVersion: >=1.28.0-0 which is incompatible with Kubernetes v1.27.9');
  });
});

describe('migration Job', () => {
  const job = find(minimal, 'Job', 't-shortener-migrations');
  const hookSecret = find(minimal, 'Secret', 't-shortener-migrations');

  it('is a pre-install,pre-upgrade hook, after its own Secret, deleted once it succeeded', () => {
    expect(job.metadata.annotations).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '0',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(hookSecret.metadata.annotations).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-5',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    expect(Number(hookSecret.metadata.annotations?.['helm.sh/hook-weight'])).toBeLessThan(Number(job.metadata.annotations?.['helm.sh/hook-weight']));
  });

  it('bounds its retries and run time, and never restarts in place', () => {
    expect(job.spec.backoffLimit).toBe(2);
    expect(job.spec.activeDeadlineSeconds).toBe(290);
    expect(podSpec(job).restartPolicy).toBe('Never');
  });

  it('needs nothing a first install creates after the hooks: own Secret, inline config, no release ServiceAccount', () => {
    const c = container(job, 'migrations');
    expect(c.envFrom).toBeUndefined();
    const secretNames = new Set(
      c.env
        .filter((e: { valueFrom?: { secretKeyRef?: unknown } }) => e.valueFrom?.secretKeyRef)
        .map((e: { valueFrom: { secretKeyRef: { name: string } } }) => e.valueFrom.secretKeyRef.name),
    );
    expect([...secretNames]).toEqual(['t-shortener-migrations']);
    expect(envValue(c, 'PUBLIC_BASE_URL')).toBe('https://sho.rt');
    expect(envValue(c, 'MIGRATION_LOCK_TIMEOUT_MS')).toBe('10000');
    expect(envValue(c, 'MIGRATION_RETRIES')).toBe('5');
    expect(envValue(c, 'NODE_ENV')).toBe('production');
    expect(podSpec(job).serviceAccountName).toBeUndefined();
    expect(hookSecret.stringData).toEqual(find(minimal, 'Secret', 't-shortener').stringData);
  });

  it('reads an existing Secret directly, with no hook copy', () => {
    const objects = render(h3, { valuesFiles: ['ci/existing-secret-values.yaml'] });
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const c = container(find(objects, 'Job', 't-shortener-migrations'), 'migrations');
    expect(c.env.find((e: { name: string }) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef).toEqual({ name: 'shortener-env', key: 'DATABASE_URL' });
    expect(podSpec(find(objects, 'Job', 't-shortener-migrations')).serviceAccountName).toBe('shortener-runtime');
  });

  it('gives the owner role (DATABASE_MIGRATION_URL) to the Job alone: hook Secret, Job env; never the pods or the release Secret', () => {
    const owner = 'postgresql://shortener_owner:pw@db:5432/shortener';
    const objects = render(h3, { valuesFiles: ['ci/minimal-values.yaml'], set: [`secrets.databaseMigrationUrl=${owner}`] });
    const ref = (o: K8sObject, c: string) => container(o, c).env.find((e: { name: string }) => e.name === 'DATABASE_MIGRATION_URL')?.valueFrom.secretKeyRef;
    expect(ref(find(objects, 'Job', 't-shortener-migrations'), 'migrations')).toEqual({
      name: 't-shortener-migrations',
      key: 'DATABASE_MIGRATION_URL',
      optional: true,
    });
    expect(find(objects, 'Secret', 't-shortener-migrations').stringData.DATABASE_MIGRATION_URL).toBe(owner);
    expect(find(objects, 'Secret', 't-shortener').stringData.DATABASE_MIGRATION_URL).toBeUndefined();
    expect([ref(find(objects, 'Deployment', 't-shortener-api'), 'api'), ref(find(objects, 'Deployment', 't-shortener-worker'), 'worker')]).toEqual([
      undefined,
      undefined,
    ]);
    // Unset, the Job's optional reference finds no key and the runner uses DATABASE_URL.
    expect(find(minimal, 'Secret', 't-shortener-migrations').stringData.DATABASE_MIGRATION_URL).toBeUndefined();
    expect(ref(find(minimal, 'Job', 't-shortener-migrations'), 'migrations')).toEqual({
      name: 't-shortener-migrations',
      key: 'DATABASE_MIGRATION_URL',
      optional: true,
    });
  });

  it('reads the owner role from an existing Secret or a secrets.refs entry', () => {
    const ref = (objects: K8sObject[]) =>
      container(find(objects, 'Job', 't-shortener-migrations'), 'migrations').env.find((e: { name: string }) => e.name === 'DATABASE_MIGRATION_URL').valueFrom
        .secretKeyRef;
    expect(ref(render(h3, { valuesFiles: ['ci/existing-secret-values.yaml'] }))).toEqual({
      name: 'shortener-env',
      key: 'DATABASE_MIGRATION_URL',
      optional: true,
    });
    const refs = render(h3, {
      valuesFiles: ['ci/minimal-values.yaml'],
      set: ['secrets.refs.DATABASE_MIGRATION_URL.name=db-owner', 'secrets.refs.DATABASE_MIGRATION_URL.key=uri'],
    });
    expect(ref(refs)).toEqual({ name: 'db-owner', key: 'uri', optional: true });
    const both = template(h3, {
      valuesFiles: ['ci/minimal-values.yaml'],
      set: [
        'secrets.databaseMigrationUrl=postgresql://o@db/s',
        'secrets.refs.DATABASE_MIGRATION_URL.name=db-owner',
        'secrets.refs.DATABASE_MIGRATION_URL.key=uri',
      ],
    });
    expect(both.status).toBe(1);
    expect(both.stderr).toContain('secrets.databaseMigrationUrl must be empty when secrets.refs.DATABASE_MIGRATION_URL is set: the value lives in that Secret');
  });

  it('merges the user annotations over the hook defaults', () => {
    const objects = render(h3, {
      valuesFiles: ['ci/minimal-values.yaml'],
      setString: ['migrations.annotations.helm\\.sh/hook-weight=3', 'migrations.annotations.team=db'],
    });
    expect(find(objects, 'Job', 't-shortener-migrations').metadata.annotations).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '3',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      team: 'db',
    });
  });

  it('is left out with migrations.enabled=false, and the apps never migrate', () => {
    const objects = render(h3, { valuesFiles: ['ci/minimal-values.yaml'], set: ['migrations.enabled=false'] });
    expect(objects.filter((o) => o.metadata.annotations?.['helm.sh/hook']?.includes('pre-'))).toEqual([]);
    for (const o of minimal.filter((x) => x.kind === 'Deployment')) {
      expect(JSON.stringify(podSpec(o))).not.toContain('migrate');
    }
  });
});

describe('labels and selectors', () => {
  it.each(['api', 'worker'])('selects %s pods by name, instance and component only', (component) => {
    const name = `t-shortener-${component}`;
    const deployment = find(minimal, 'Deployment', name);
    expect(deployment.spec.selector).toEqual({ matchLabels: selectorOf(component) });
    expect(deployment.spec.template.metadata.labels).toMatchObject(selectorOf(component));
    expect(find(minimal, 'PodDisruptionBudget', name).spec.selector).toEqual({ matchLabels: selectorOf(component) });
    expect(find(minimal, 'Service', `${name}-management`).spec.selector).toEqual(selectorOf(component));
  });

  it('routes the public Service to API pods only', () => {
    expect(find(minimal, 'Service', 't-shortener-api').spec.selector).toEqual(selectorOf('api'));
  });

  it('labels every object with the standard labels and commonLabels, never selectors', () => {
    for (const o of production) {
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'shortener',
        'app.kubernetes.io/instance': 't',
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/version': '0.1.0',
        'helm.sh/chart': 'shortener-0.1.0',
        team: 'platform',
      });
    }
    expect(find(production, 'Deployment', 't-shortener-api').spec.selector.matchLabels.team).toBeUndefined();
  });

  it('spreads pods over zones and nodes with their own selector', () => {
    expect(podSpec(find(minimal, 'Deployment', 't-shortener-api')).topologySpreadConstraints).toEqual(
      ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selectorOf('api') },
        matchLabelKeys: ['pod-template-hash'],
      })),
    );
    expect(podSpec(find(single, 'Deployment', 't-shortener-api')).topologySpreadConstraints).toBeUndefined();
  });
});

describe('security', () => {
  const pods = () => [
    find(minimal, 'Deployment', 't-shortener-api'),
    find(minimal, 'Deployment', 't-shortener-worker'),
    find(minimal, 'Job', 't-shortener-migrations'),
    find(minimal, 'Pod', 't-shortener-test'),
  ];

  it('runs every pod non-root, read-only, without privilege escalation or capabilities, under RuntimeDefault seccomp', () => {
    for (const o of pods()) {
      const spec = podSpec(o);
      expect(spec.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        fsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const c of spec.containers) {
        expect(c.securityContext).toEqual({
          runAsNonRoot: true,
          runAsUser: 1000,
          runAsGroup: 1000,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      }
      expect(spec.volumes).toEqual([{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } }]);
    }
  });

  it('matches the image user (USER 1000:1000 in the Dockerfile)', () => {
    const dockerfile = readFileSync(path.join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
  });
});

describe('Services, Ingress and NetworkPolicy', () => {
  it('exposes only the http port publicly; management ports get their own cluster-internal Services', () => {
    expect(find(minimal, 'Service', 't-shortener-api').spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(find(minimal, 'Service', 't-shortener-api-management').spec).toMatchObject({
      type: 'ClusterIP',
      ports: [{ name: 'management', port: 9464, targetPort: 'management', protocol: 'TCP' }],
    });
    expect(find(minimal, 'Service', 't-shortener-worker-management').spec).toMatchObject({
      type: 'ClusterIP',
      ports: [{ name: 'management', port: 9465, targetPort: 'management', protocol: 'TCP' }],
    });
  });

  it('routes every path of every short host to the public port, with a proxy buffer for long Locations', () => {
    const ingress = find(production, 'Ingress', 't-shortener-api');
    expect(ingress.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/proxy-buffer-size': '16k', 'cert-manager.io/cluster-issuer': 'letsencrypt' });
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.rules).toEqual(
      ['sho.rt', 'go.example.com'].map((host) => ({
        host,
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 't-shortener-api', port: { name: 'http' } } } }] },
      })),
    );
    expect(JSON.stringify(ingress)).not.toContain('management');
  });

  it('lets only the ingress namespace and the helm test reach the API port, and monitoring the management ports', () => {
    const api = find(production, 'NetworkPolicy', 't-shortener-api');
    expect(api.spec.ingress).toEqual([
      {
        ports: [{ port: 'http', protocol: 'TCP' }],
        from: [
          { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
          { podSelector: { matchLabels: selectorOf('test') } },
        ],
      },
      {
        ports: [{ port: 'management', protocol: 'TCP' }],
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }, { podSelector: {} }],
      },
    ]);
    expect(find(production, 'NetworkPolicy', 't-shortener-worker').spec.ingress).toEqual([api.spec.ingress[1]]);
  });
});

describe('autoscaling', () => {
  it('scales the API on CPU by default, leaving replicas to the HPA', () => {
    const hpa = find(minimal, 'HorizontalPodAutoscaler', 't-shortener-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 't-shortener-api' });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([2, 10]);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(find(minimal, 'Deployment', 't-shortener-api').spec.replicas).toBeUndefined();
    expect(find(minimal, 'Deployment', 't-shortener-api').spec.strategy.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: 0 });
  });

  it('adds the custom per-pod metric target', () => {
    expect(find(production, 'HorizontalPodAutoscaler', 't-shortener-api').spec.metrics[1]).toEqual({
      type: 'Pods',
      pods: { metric: { name: 'http_server_requests_per_second' }, target: { type: 'AverageValue', averageValue: '300' } },
    });
  });

  it('scales the worker on queue depth with KEDA where served, reading BullMQ wait lists', () => {
    const so = find(production, 'ScaledObject', 't-shortener-worker');
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 't-shortener-worker' });
    expect([so.spec.minReplicaCount, so.spec.maxReplicaCount]).toEqual([2, 8]);
    expect(so.spec.triggers.map((t: { metadata: { listName?: string } }) => t.metadata.listName)).toEqual([
      undefined,
      '{shortener}:clicks:wait',
      '{shortener}:maintenance:wait',
    ]);
    expect(so.spec.triggers[1]).toEqual({
      type: 'redis',
      authenticationRef: { name: 't-shortener-worker' },
      metadata: {
        address: 'redis-queue-master.cache.svc:6379',
        databaseIndex: '0',
        enableTLS: 'false',
        listName: '{shortener}:clicks:wait',
        listLength: '500',
      },
    });
    expect(find(production, 'TriggerAuthentication', 't-shortener-worker').spec).toEqual({
      secretTargetRef: [{ parameter: 'password', name: 'redis-queue', key: 'redis-password' }],
    });
    expect(production.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.metadata.name)).toEqual(['t-shortener-api']);
    expect(find(production, 'Deployment', 't-shortener-worker').spec.replicas).toBeUndefined();
  });

  it('queries the shortener_queue_jobs gauge with the Prometheus source', () => {
    const objects = render(h3, { valuesFiles: ['ci/cloudnativepg-keda-prometheus-values.yaml'], withCrds: true });
    expect(find(objects, 'ScaledObject', 't-shortener-worker').spec.triggers[1]).toEqual({
      type: 'prometheus',
      metadata: {
        serverAddress: 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090',
        query: `sum(shortener_queue_jobs{namespace="${NAMESPACE}",queue="clicks",state="waiting"})`,
        threshold: '500',
      },
    });
  });

  it('falls back to the CPU HPA where KEDA is not served', () => {
    const objects = render(h3, { valuesFiles: ['ci/production-values.yaml'] });
    expect(objects.filter((o) => o.kind === 'ScaledObject')).toEqual([]);
    const hpa = find(objects, 'HorizontalPodAutoscaler', 't-shortener-worker');
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics[0].resource.target.averageUtilization]).toEqual([2, 8, 70]);
  });
});

describe('PodDisruptionBudgets', () => {
  it('never block a drain at one replica: maxUnavailable 1, no minAvailable', () => {
    expect(find(single, 'Deployment', 't-shortener-api').spec.replicas).toBe(1);
    expect(find(single, 'Deployment', 't-shortener-worker').spec.replicas).toBe(1);
    for (const name of ['t-shortener-api', 't-shortener-worker']) {
      const pdb = find(single, 'PodDisruptionBudget', name);
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.minAvailable).toBeUndefined();
      expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    }
  });

  it('takes a percentage, which Kubernetes rounds up to at least one pod', () => {
    expect(find(production, 'PodDisruptionBudget', 't-shortener-api').spec.maxUnavailable).toBe('25%');
  });
});

describe('monitoring', () => {
  it('scrapes both management Services as the jobs shortener-api and shortener-worker', () => {
    const sm = find(production, 'ServiceMonitor', 't-shortener');
    expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack');
    expect(sm.spec).toEqual({
      jobLabel: 'shortener/job',
      selector: { matchLabels: { 'app.kubernetes.io/name': 'shortener', 'app.kubernetes.io/instance': 't', 'shortener/port': 'management' } },
      namespaceSelector: { matchNames: [NAMESPACE] },
      endpoints: [
        {
          port: 'management',
          path: '/metrics',
          interval: '30s',
          scrapeTimeout: '10s',
          relabelings: [{ sourceLabels: ['__meta_kubernetes_service_label_app_kubernetes_io_component'], targetLabel: 'component' }],
        },
      ],
    });
    const selected = production.filter(
      (o) => o.kind === 'Service' && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels?.[k] === v),
    );
    expect(selected.map((s) => [s.metadata.name, s.metadata.labels?.['shortener/job']])).toEqual([
      ['t-shortener-api-management', 'shortener-api'],
      ['t-shortener-worker-management', 'shortener-worker'],
    ]);
  });

  it('names the jobs so that every job matcher of files/rules matches one of them', () => {
    const rules = readdirSync(path.join(CHART_DIR, 'files/rules')).filter((f) => f.endsWith('.yaml'));
    const matchers = rules.flatMap((f) => [...readFileSync(path.join(CHART_DIR, 'files/rules', f), 'utf8').matchAll(/job=~"([^"]+)"/g)].map((m) => m[1]));
    for (const m of matchers) {
      expect(['shortener-api', 'shortener-worker'].some((job) => new RegExp(`^(?:${m})$`).test(job))).toBe(true);
    }
  });

  it('ships every group of files/rules in one PrometheusRule, in file order', () => {
    const rules = readdirSync(path.join(CHART_DIR, 'files/rules'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    const groups = rules.flatMap((f) =>
      (parse(readFileSync(path.join(CHART_DIR, 'files/rules', f), 'utf8')) as { groups: { name: string }[] }).groups.map((g) => g.name),
    );
    const objects = production.filter((o) => o.kind === 'PrometheusRule');
    if (groups.length === 0) {
      expect(objects).toEqual([]);
    } else {
      expect(objects.map((o) => o.spec.groups.map((g: { name: string }) => g.name))).toEqual([groups]);
      expect(objects[0].metadata.labels?.release).toBe('kube-prometheus-stack');
    }
    expect(minimal.filter((o) => o.kind === 'PrometheusRule' || o.kind === 'ServiceMonitor')).toEqual([]);
  });
});
