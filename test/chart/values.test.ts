import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { generateApiKey, parseApiKey } from '../../libs/auth/src/api-key.format';
import { envSchema } from '../../libs/config/src/env.schema';
import { CHART_DIR, ciValuesFiles, find, helm, render, template } from './support/helm';

// values.yaml is documented key by key and validated by a strict schema;
// values Helm should refuse are refused, with the schema's own message or the
// chart's `fail` message, by Helm 3 and Helm 4 alike.

const valuesText = readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8');
const schema = JSON.parse(readFileSync(path.join(CHART_DIR, 'values.schema.json'), 'utf8')) as Record<string, unknown>;

/** Keys of values.yaml (dotted) whose line has no `# --` comment block right above it. */
function undocumentedKeys(text: string): string[] {
  const lines = text.split('\n');
  const missing: string[] = [];
  const stack: { indent: number; key: string }[] = [];
  let listIndent = -1;
  lines.forEach((line, i) => {
    if (!line.trim() || line.trim().startsWith('#')) return;
    const indent = line.length - line.trimStart().length;
    if (listIndent >= 0 && indent > listIndent) return; // inside a list item: data, not a documented key
    listIndent = -1;
    if (line.trimStart().startsWith('- ')) {
      listIndent = indent;
      return;
    }
    const m = /^(\s*)([^\s:#][^:]*):(\s|$)/.exec(line);
    if (!m) return;
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    const dotted = [...stack.map((s) => s.key), m[2]].join('.');
    stack.push({ indent, key: m[2] });
    let j = i - 1;
    while (j >= 0 && lines[j].trim().startsWith('#') && !lines[j].trim().startsWith('# --')) j -= 1;
    if (j < 0 || !lines[j].trim().startsWith('# --')) missing.push(dotted);
  });
  return missing;
}

/** JSON pointers of every object schema with `properties` that is not closed by `additionalProperties: false`. */
function openObjects(node: unknown, at = '#'): string[] {
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  const own = n.properties && n.additionalProperties !== false ? [at] : [];
  return [...own, ...Object.entries(n).flatMap(([k, v]) => openObjects(v, `${at}/${k}`))];
}

describe('values.yaml', () => {
  it('documents every key with a `# --` comment above it', () => {
    expect(undocumentedKeys(valuesText)).toEqual([]);
  });

  it('finds undocumented keys (the check itself works)', () => {
    expect(undocumentedKeys('# -- a\na: 1\nb:\n  # -- c\n  c: 2\n  d: 3\n# -- e\ne:\n  - x: 1\n    y: 2\n')).toEqual(['b', 'b.d']);
  });

  it('is valid against values.schema.json (draft-07)', () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    expect(validate(parse(valuesText))).toBe(true);
    expect(validate.errors ?? []).toEqual([]);
  });
});

describe('charts/shortener/README.md', () => {
  it('lists every value of values.yaml with its default in the values reference', () => {
    const leaves: [string, string][] = [];
    const walk = (node: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(node)) {
        const key = prefix ? `${prefix}.${k}` : k;
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, key);
        else leaves.push([key, JSON.stringify(v)]);
      }
    };
    walk(parse(valuesText) as Record<string, unknown>, '');
    const readme = readFileSync(path.join(CHART_DIR, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `([^`]+)` \| `(.*)` \| .+ \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(leaves);
    expect(leaves.length).toBeGreaterThan(150);
  });
});

describe('values.schema.json', () => {
  it('closes every object with additionalProperties: false', () => {
    expect(openObjects(schema)).toEqual([]);
  });

  it('refuses extraEnv names the chart sets itself, and each of them is a variable the app, Node or the OpenTelemetry SDK reads', () => {
    const owned = ((schema.properties as any).config.properties.extraEnv.propertyNames.not.enum as string[]).filter((n) => !n.startsWith('K8S_'));
    const known = new Set(Object.keys(envSchema.shape));
    const sdk = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG', 'OTEL_RESOURCE_ATTRIBUTES'];
    const node = ['NODE_OPTIONS']; // api.nodeOptions and worker.nodeOptions
    expect(owned.filter((n) => !known.has(n) && !sdk.includes(n) && !node.includes(n))).toEqual([]);
    expect(owned).toHaveLength(52);
  });

  it('accepts exactly the bootstrap admin keys the app parses', () => {
    const pattern = new RegExp((schema.properties as any).secrets.properties.bootstrapAdminKey.pattern as string);
    const ciKeys = ciValuesFiles()
      .map((f) => parse(readFileSync(path.join(CHART_DIR, f), 'utf8')).secrets?.bootstrapAdminKey)
      .filter(Boolean) as string[];
    expect(ciKeys).toHaveLength(4);
    const candidates = [
      ...ciKeys,
      generateApiKey().key,
      'sk_ci_0123456789abcdefghijABCDEFGHIJ0123',
      'sk_UPPERCASE_0123456789abcdefghijABCDEFGHIJ0123',
      'sk_ciadmin01_short',
      'pk_ciadmin01_0123456789abcdefghijABCDEFGHIJ0123',
    ];
    expect(candidates.map((k) => pattern.test(k))).toEqual(candidates.map((k) => parseApiKey(k) !== null));
    expect(candidates.map((k) => pattern.test(k))).toEqual([true, true, true, true, true, false, false, false, false]);
  });

  it('passes extraEnv variables to the apps as strings', () => {
    const configMap = find(render(helm(3), { valuesFiles: ['ci/production-values.yaml'] }), 'ConfigMap', 't-shortener');
    expect([configMap.data.RATE_LIMIT_API_PER_MINUTE, configMap.data.CACHE_LRU_MAX_ENTRIES]).toEqual(['1200', '200000']);
    expect(Object.keys(envSchema.shape)).toEqual(expect.arrayContaining(['RATE_LIMIT_API_PER_MINUTE', 'CACHE_LRU_MAX_ENTRIES']));
  });
});

const NODE_OPTIONS_PATTERN = (schema.definitions as Record<string, { pattern: string }>).nodeOptions.pattern;
// [what is wrong, --set or --set-string arguments, Helm 3's line, Helm 4's line(s)]
const schemaCases: [string, { set?: string[]; setString?: string[] }, string, string][] = [
  [
    'an unknown key',
    { set: ['api.replicas=2'] },
    '- api: Additional property replicas is not allowed',
    "- at '/api': additional properties 'replicas' not allowed",
  ],
  [
    'a PDB minAvailable (it could block drains)',
    { set: ['api.pdb.minAvailable=1'] },
    '- api.pdb: Additional property minAvailable is not allowed',
    "- at '/api/pdb': additional properties 'minAvailable' not allowed",
  ],
  [
    'a PDB maxUnavailable of 0%',
    { set: ['api.pdb.maxUnavailable=0%'] },
    "- api.pdb.maxUnavailable: Does not match pattern '^([1-9][0-9]?|100)%$'",
    "  - at '/api/pdb/maxUnavailable': '0%' does not match pattern '^([1-9][0-9]?|100)%$'",
  ],
  [
    'zero replicas',
    { set: ['api.replicaCount=0'] },
    '- api.replicaCount: Must be greater than or equal to 1',
    "- at '/api/replicaCount': minimum: got 0, want 1",
  ],
  [
    'a replica count as text',
    { setString: ['api.replicaCount=two'] },
    '- api.replicaCount: Invalid type. Expected: integer, given: string',
    "- at '/api/replicaCount': got string, want integer",
  ],
  [
    'an unknown log level',
    { set: ['config.logLevel=loud'] },
    '- config.logLevel: config.logLevel must be one of the following: "fatal", "error", "warn", "info", "debug", "trace", "silent"',
    "- at '/config/logLevel': value must be one of 'fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'",
  ],
  [
    'an unknown KEDA source',
    { set: ['worker.autoscaling.keda.source=kafka'] },
    '- worker.autoscaling.keda.source: worker.autoscaling.keda.source must be one of the following: "redis", "prometheus"',
    "- at '/worker/autoscaling/keda/source': value must be one of 'redis', 'prometheus'",
  ],
  [
    'running as root',
    { set: ['securityContext.runAsUser=0'] },
    '- securityContext.runAsUser: Must be greater than or equal to 1',
    "- at '/securityContext/runAsUser': minimum: got 0, want 1",
  ],
  [
    'a bootstrap admin key the app would not parse',
    { setString: ['secrets.bootstrapAdminKey=sk_ci_123'] },
    "- secrets.bootstrapAdminKey: Does not match pattern '^$|^sk_[a-z0-9]{8,32}_[A-Za-z0-9]{32,128}$'",
    "- at '/secrets/bootstrapAdminKey': 'sk_ci_123' does not match pattern '^$|^sk_[a-z0-9]{8,32}_[A-Za-z0-9]{32,128}$'",
  ],
  [
    'a short pepper',
    { setString: ['secrets.apiKeyPepper=short'] },
    "- secrets.apiKeyPepper: Does not match pattern '^$|^\\S{16,}$'",
    "- at '/secrets/apiKeyPepper': 'short' does not match pattern '^$|^\\\\S{16,}$'",
  ],
  [
    'a public base URL with a path',
    { setString: ['config.publicBaseUrl=https://sho.rt/path'] },
    "- config.publicBaseUrl: Does not match pattern '^$|^https?://[^/?#\\s]+$'",
    "- at '/config/publicBaseUrl': 'https://sho.rt/path' does not match pattern '^$|^https?://[^/?#\\\\s]+$'",
  ],
  [
    'a chart-owned variable in extraEnv',
    { setString: ['config.extraEnv.DATABASE_URL=postgres://x'] },
    '- config.extraEnv: Property name of "DATABASE_URL" does not match',
    "- at '': invalid propertyName 'DATABASE_URL'",
  ],
  [
    'NODE_OPTIONS in extraEnv (api.nodeOptions sets it)',
    { setString: ['config.extraEnv.NODE_OPTIONS=--max-old-space-size=64'] },
    '- config.extraEnv: Property name of "NODE_OPTIONS" does not match',
    "- at '': invalid propertyName 'NODE_OPTIONS'",
  ],
  [
    'node options that are not --name=value flags',
    { setString: ['api.nodeOptions=max-old-space-size=128'] },
    `- api.nodeOptions: Does not match pattern '${NODE_OPTIONS_PATTERN}'`,
    `- at '/api/nodeOptions': 'max-old-space-size=128' does not match pattern '${NODE_OPTIONS_PATTERN.replace(/[\\']/g, (c) => `\\${c}`)}'`,
  ],
];

describe.each([3, 4] as const)('Helm %i refuses invalid values', (major) => {
  it.each(schemaCases)('with the schema message: %s', (_what, args, helm3, helm4) => {
    const run = template(helm(major), { valuesFiles: ['ci/minimal-values.yaml'], ...args });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Error: values don't meet the specifications of the schema(s) in the following chart(s):\nshortener:\n");
    expect(run.stderr.split('\n')).toContain(major === 3 ? helm3 : helm4);
  });
});

const failPrefix = 'shortener: invalid values:';
// [impossible combination, values files, --set, the `fail` line]
const failCases: [string, string[], string[], string][] = [
  [
    'an existing Secret and an inline secret',
    ['ci/minimal-values.yaml'],
    ['secrets.existingSecret=mine'],
    '- secrets.databaseUrl must be empty when secrets.existingSecret is set: the value lives in that Secret',
  ],
  [
    'a secrets.refs entry and the same inline secret',
    ['ci/minimal-values.yaml'],
    ['secrets.refs.DATABASE_URL.name=db-app', 'secrets.refs.DATABASE_URL.key=uri'],
    '- secrets.databaseUrl must be empty when secrets.refs.DATABASE_URL is set: the value lives in that Secret',
  ],
  [
    'minReplicas above maxReplicas',
    ['ci/minimal-values.yaml'],
    ['api.autoscaling.minReplicas=5', 'api.autoscaling.maxReplicas=3'],
    '- api.autoscaling.minReplicas (5) is above maxReplicas (3)',
  ],
  [
    'a CPU HPA without a CPU request',
    ['ci/minimal-values.yaml'],
    ['api.resources.requests.cpu=null'],
    '- api.autoscaling needs api.resources.requests.cpu: the CPU target is a share of it',
  ],
  [
    'KEDA without autoscaling',
    ['ci/minimal-values.yaml'],
    ['worker.autoscaling.keda.enabled=true', 'worker.autoscaling.keda.redis.address=redis:6379'],
    '- worker.autoscaling.keda.enabled needs worker.autoscaling.enabled (minReplicas and maxReplicas bound KEDA too)',
  ],
  [
    'KEDA on Redis without its address',
    ['ci/minimal-values.yaml'],
    ['worker.autoscaling.enabled=true', 'worker.autoscaling.keda.enabled=true'],
    '- worker.autoscaling.keda.source=redis needs worker.autoscaling.keda.redis.address (host:port of the queue Redis)',
  ],
  [
    'KEDA on Prometheus without its address',
    ['ci/minimal-values.yaml'],
    ['worker.autoscaling.enabled=true', 'worker.autoscaling.keda.enabled=true', 'worker.autoscaling.keda.source=prometheus'],
    '- worker.autoscaling.keda.source=prometheus needs worker.autoscaling.keda.prometheus.serverAddress',
  ],
  ['tracing without an endpoint', ['ci/minimal-values.yaml'], ['otel.enabled=true'], '- otel.enabled needs otel.endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)'],
  [
    'one port for public and management',
    ['ci/minimal-values.yaml'],
    ['api.ports.management=3000'],
    '- api.ports.http and api.ports.management must differ: the management port is never public',
  ],
  [
    'a proxy buffer smaller than the longest Location',
    ['ci/minimal-values.yaml'],
    ['ingress.enabled=true', 'config.links.maxTargetLengthBytes=16384'],
    '- ingress.proxyBufferSizeKiB (16) cannot hold a Location of config.links.maxTargetLengthBytes (16384) plus 4 KiB of headers: use at least 20',
  ],
  [
    'a migration hook moved after the upgrade',
    ['ci/minimal-values.yaml'],
    ['migrations.annotations.helm\\.sh/hook=post-upgrade'],
    '- migrations.annotations cannot set helm.sh/hook: migrations run before the new code, as a pre-install,pre-upgrade hook',
  ],
  [
    'an old space not below the memory limit',
    ['ci/minimal-values.yaml'],
    ['worker.resources.limits.memory=256Mi', 'worker.nodeOptions=--max-old-space-size=256'],
    '- worker.nodeOptions sets --max-old-space-size=256 (MiB), not below worker.resources.limits.memory (256Mi): the container would be killed for memory before V8 collects its garbage',
  ],
  [
    'a helm test without the bootstrap admin key',
    ['ci/minimal-values.yaml'],
    ['secrets.bootstrapAdminKey='],
    '- tests.enabled needs secrets.bootstrapAdminKey: the helm test creates a link with it (or set tests.enabled=false)',
  ],
];

describe.each([3, 4] as const)('Helm %i fails impossible combinations', (major) => {
  it.each(failCases)('%s', (_what, valuesFiles, set, line) => {
    const run = template(helm(major), { valuesFiles, set });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`\n${failPrefix}\n`);
    expect(run.stderr.split('\n')).toContain(line);
  });

  it('lists every missing required value at once', () => {
    const run = template(helm(major));
    expect(run.status).toBe(1);
    // The message runs from its first line to the blank line Helm prints after it.
    expect(run.stderr.slice(run.stderr.indexOf(failPrefix)).split('\n\n')[0].split('\n')).toEqual([
      failPrefix,
      '- config.publicBaseUrl is required: the origin short URLs are built from, e.g. https://sho.rt',
      '- secrets.apiKeyPepper is required (or set secrets.refs.API_KEY_PEPPER, or secrets.existingSecret)',
      '- secrets.clickIpSalt is required (or set secrets.refs.CLICK_IP_SALT, or secrets.existingSecret)',
      '- secrets.codePermutationKey is required (or set secrets.refs.CODE_PERMUTATION_KEY, or secrets.existingSecret)',
      '- secrets.databaseUrl is required (or set secrets.refs.DATABASE_URL, or secrets.existingSecret)',
      '- secrets.redisCacheUrl is required (or set secrets.refs.REDIS_CACHE_URL, or secrets.existingSecret)',
      '- secrets.redisQueueUrl is required (or set secrets.refs.REDIS_QUEUE_URL, or secrets.existingSecret)',
      '- tests.enabled needs secrets.bootstrapAdminKey: the helm test creates a link with it (or set tests.enabled=false)',
    ]);
  });
});
