/**
 * `npm run lint:migrations` (after `npm run build`): writes every migration's
 * SQL to a directory (argument, else a temp dir) and lints it with squawk
 * under the repository's `.squawk.toml`. Exit 1 on any violation.
 *
 * This entry uses the recording runner only, so it needs no database; a
 * migration that needs a connection is linted by the integration test
 * (test/integration/migrations-lint.test.ts), which captures it on a fresh one.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MIGRATIONS } from '../migrations';
import { captureMigrations, writeMigrationSqlFiles } from './capture-sql';
import { lintMigrationSql } from './capture-sql.lint';

async function main(argv: string[]): Promise<number> {
  const dir = argv[0] ? path.resolve(argv[0]) : await mkdtemp(path.join(os.tmpdir(), 'migrations-sql-'));
  const files = await writeMigrationSqlFiles(dir, await captureMigrations(MIGRATIONS));
  const result = await lintMigrationSql(files, { configPath: path.resolve(process.cwd(), '.squawk.toml') });
  process.stdout.write(`captured ${files.length} migration(s) into ${dir}\n`);
  if (result.violations.length === 0) return 0;
  process.stderr.write(`${result.report}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
