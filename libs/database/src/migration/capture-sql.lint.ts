import { execFile } from 'node:child_process';
import path from 'node:path';
import { MigrationSqlFile } from './capture-sql';

/** One finding of squawk's JSON reporter. */
export interface SquawkViolation {
  file: string;
  /** 1-based, as an editor shows it (squawk's JSON is 0-based). */
  line: number;
  level: string;
  rule: string;
  message: string;
}

/** What a squawk run over the captured migrations found. */
export interface SquawkResult {
  violations: SquawkViolation[];
  /** Human-readable report, one line per violation (empty when clean). */
  report: string;
}

/** Options of {@link lintMigrationSql}. */
export interface SquawkOptions {
  /** The `.squawk.toml` to use (pg_version, excluded rules with their reasons). */
  configPath: string;
  /** The squawk executable; defaults to the `squawk-cli` devDependency. */
  squawkBin?: string;
}

/** The squawk binary shipped by the `squawk-cli` package. */
export function defaultSquawkBin(): string {
  return path.join(path.dirname(require.resolve('squawk-cli/package.json')), 'js', 'bin', 'squawk');
}

/**
 * Runs squawk over captured migration files. Squawk's transaction assumption
 * is per invocation while ours is per migration, so the files go in two
 * groups: those the runner wraps in a transaction (`--assume-in-transaction`,
 * which e.g. flags CREATE INDEX CONCURRENTLY inside one) and those with
 * `transaction = false` (`--no-assume-in-transaction`, which e.g. asks for
 * IF NOT EXISTS so a half-done concurrent build can be rerun).
 *
 * @throws when squawk cannot run or its output is not its JSON report.
 */
export async function lintMigrationSql(files: readonly MigrationSqlFile[], options: SquawkOptions): Promise<SquawkResult> {
  const bin = options.squawkBin ?? defaultSquawkBin();
  const groups = [
    { flag: '--assume-in-transaction', paths: files.filter((f) => f.transaction).map((f) => f.path) },
    { flag: '--no-assume-in-transaction', paths: files.filter((f) => !f.transaction).map((f) => f.path) },
  ];
  const violations: SquawkViolation[] = [];
  for (const group of groups) {
    if (group.paths.length === 0) continue;
    violations.push(...(await runSquawk(bin, ['--config', options.configPath, '--reporter', 'json', group.flag, ...group.paths])));
  }
  const order = new Map(files.map((f, i) => [f.path, i]));
  violations.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line);
  const report = violations.map((v) => `${path.basename(v.file)}:${v.line} ${v.rule}: ${v.message}`).join('\n');
  return { violations, report };
}

interface SquawkJsonViolation {
  file: string;
  line: number;
  level: string;
  message: string;
  rule_name: string;
}

async function runSquawk(bin: string, args: string[]): Promise<SquawkViolation[]> {
  // Exit status 1 only means "violations found"; the JSON on stdout is the verdict.
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- execFile's error is an Error; @types/node declares it through Omit<>, which the rule does not follow
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ stdout: out, stderr: err, code: error ? Number(error.code) : 0 });
    });
  });
  let parsed: SquawkJsonViolation[];
  try {
    parsed = JSON.parse(stdout) as SquawkJsonViolation[];
  } catch {
    throw new Error(`squawk exited ${code} without a JSON report: ${stderr || stdout}`);
  }
  if (code !== 0 && parsed.length === 0) throw new Error(`squawk exited ${code} with no violations: ${stderr}`);
  return parsed.map((v) => ({ file: v.file, line: v.line + 1, level: v.level, rule: v.rule_name, message: v.message }));
}
