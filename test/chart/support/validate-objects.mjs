// Validates Kubernetes objects against the kubernetes-models schemas (the
// Kubernetes OpenAPI, prometheus-operator and KEDA CRDs, compiled to ajv).
// Runs as its own Node.js process because those packages are ES modules that
// Jest's CommonJS runtime cannot import. Reads a JSON array of objects on
// stdin; writes a JSON array of {object, error} (error null when valid).
import { readFileSync } from 'node:fs';

// Where each API group's models live; an object of any other group is an error,
// so nothing the chart renders goes unvalidated.
const MODULES = {
  'monitoring.coreos.com': (version) => `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}`,
  'keda.sh': (version) => `@kubernetes-models/keda/keda.sh/${version}`,
};

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base = MODULES[group]?.(version) ?? (group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`);
  // One module per kind: importing a group's index would load every model of it.
  const specifier = `${base}/${kind}`;
  const mod = await import(specifier);
  const Model = mod[kind];
  if (typeof Model !== 'function') throw new Error(`no model for ${apiVersion} ${kind} in ${specifier}`);
  return Model;
}

const objects = JSON.parse(readFileSync(0, 'utf8'));
const results = [];
for (const object of objects) {
  const ref = `${object.apiVersion} ${object.kind}/${object.metadata?.name}`;
  try {
    const Model = await modelFor(object.apiVersion, object.kind);
    new Model(object).validate();
    results.push({ object: ref, error: null });
  } catch (error) {
    results.push({ object: ref, error: error instanceof Error ? error.message : String(error) });
  }
}
process.stdout.write(JSON.stringify(results));
