import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { K8sObject } from './helm';

/** Outcome of validating one object: `error` is null when it is valid. */
export interface ValidationResult {
  object: string;
  error: string | null;
}

/**
 * Validates objects against the Kubernetes (1.30+ API, from kubernetes-models),
 * prometheus-operator and KEDA schemas, in one child Node.js process (see
 * validate-objects.mjs for why it is not done inside Jest).
 */
export function validateObjects(objects: K8sObject[]): ValidationResult[] {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'validate-objects.mjs')], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    cwd: path.resolve(__dirname, '../../..'),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`validate-objects.mjs exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ValidationResult[];
}
