import path from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './helm';
import { ROOT } from './helm';

/** One field-level problem the type checker found in a rendered object. */
export interface FieldProblem {
  object: string;
  message: string;
}

// The JSON schemas behind validateObjects() accept unknown fields (the
// Kubernetes OpenAPI does not forbid them), so a misspelled field would pass
// there and be dropped silently by the API server. The same packages ship
// TypeScript interfaces, and TypeScript's excess-property check on object
// literals refuses any field the API does not define.
function typeModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`;
  if (group === 'keda.sh') return `@kubernetes-models/keda/keda.sh/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

/**
 * Type-checks every object as an object literal of its kubernetes-models
 * interface (`I<Kind>`), in one TypeScript program; returns every diagnostic
 * with the object it belongs to. An empty list means every field is known and
 * of the right type.
 */
export function typeCheckObjects(objects: K8sObject[]): FieldProblem[] {
  const fileName = path.join(ROOT, 'test/chart/__rendered_objects__.ts');
  const lines: string[] = [];
  const owners: { line: number; object: string }[] = [];
  objects.forEach((o, i) => {
    lines.push(`import type { I${o.kind} as T${i} } from ${JSON.stringify(typeModule(o.apiVersion, o.kind))};`);
  });
  objects.forEach((o, i) => {
    owners.push({ line: lines.length, object: `${o.apiVersion} ${o.kind}/${o.metadata.name}` });
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(o)};`);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, languageVersion) : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const owner = [...owners].reverse().find((o) => o.line <= line);
    return { object: owner?.object ?? '(imports)', message: ts.flattenDiagnosticMessageText(d.messageText, ' ') };
  });
}
