// Writing generated files: one YAML style and one header for every generator,
// so regenerating is byte for byte reproducible.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';

/** The repository root (this file is deploy/slo/files.ts). */
export const REPO_ROOT = resolve(__dirname, '..', '..');

/** YAML with a leading comment; no line folding, so PromQL stays as written, and multi-line strings as literal blocks. */
export function toYaml(doc: unknown, header: string): string {
  const comment = header
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  return `${comment}\n${stringify(doc, { lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false })}`;
}

/** `--out <dir>` from argv, else the repository root: the tests regenerate into a temporary directory. */
export function outRoot(argv: readonly string[]): string {
  const i = argv.indexOf('--out');
  if (i === -1) return REPO_ROOT;
  const dir = argv[i + 1];
  if (!dir) throw new Error('--out needs a directory');
  return resolve(dir);
}

/** Writes `files` (repository-relative path to content) under `root`. */
export function writeFiles(root: string, files: ReadonlyMap<string, string>): void {
  for (const [path, content] of files) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
}
