/**
 * The compiled migration entry point run by the Helm pre-install/pre-upgrade
 * Job: `node dist/libs/database/src/migration/migrate.main.js`.
 * Exit 0 when the schema is up to date, 1 with a one-line reason otherwise.
 */
import { ConfigError, loadConfig } from '@shortener/config';
import { runMigrations } from './migration-runner';

async function main(): Promise<void> {
  const log = (message: string) => process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: message })}\n`);
  try {
    const config = loadConfig('migrations');
    const result = await runMigrations(config, log);
    log(result.applied.length ? `migrations applied: ${result.applied.length}` : 'schema is up to date');
    process.exitCode = 0;
  } catch (error) {
    const message = error instanceof ConfigError ? error.message : `migration failed: ${(error as Error).message}`;
    process.stderr.write(`${JSON.stringify({ level: 'error', time: new Date().toISOString(), msg: message })}\n`);
    process.exitCode = 1;
  }
}

void main();
