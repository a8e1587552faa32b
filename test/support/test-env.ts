import { AppConfig, AppRole, loadConfig } from '@shortener/config';

/**
 * Per-run and per-Jest-worker isolation (docs/design.md section 10): each worker
 * gets its own database cloned from the run's migrated template, its own Redis
 * key prefix, BullMQ prefix and invalidation channel, and port 0.
 */
export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** The run id set by the global setup. */
export function runId(): string {
  const id = process.env.TEST_RUN_ID;
  if (!id) throw new Error('TEST_RUN_ID is not set: run the tests through Jest with the global setup');
  return id;
}

export function workerId(): string {
  return process.env.JEST_WORKER_ID ?? '1';
}

/** Name of the run's migrated template database. The name contains `test` by rule. */
export function templateDatabaseName(id = runId()): string {
  return `shortener_test_${id}_tpl`;
}

/** Name of a worker's database (cloned from the template by the global setup). */
export function workerDatabaseName(worker = workerId(), id = runId()): string {
  return `shortener_test_${id}_w${worker}`;
}

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The environment a test app or child process of this worker runs with. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  const prefix = `test:${runId()}:w${workerId()}:`;
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    MANAGEMENT_HOST: '127.0.0.1',
    MANAGEMENT_PORT: '0',
    PUBLIC_BASE_URL: 'https://short.example',
    DATABASE_URL: databaseUrl(workerDatabaseName()),
    REDIS_QUEUE_URL: REDIS_URL,
    REDIS_CACHE_URL: REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    QUEUE_PREFIX: `{test-${runId()}-w${workerId()}}`,
    OTEL_SDK_DISABLED: 'true',
    BOOTSTRAP_ADMIN_KEY: TEST_ADMIN_KEY,
    CLICK_FLUSH_INTERVAL_MS: '50',
    SHUTDOWN_TIMEOUT_MS: '5000',
    // A loaded CI machine must not shed test traffic; load-shedding.e2e.ts turns it on.
    HTTP_MAX_EVENT_LOOP_DELAY_MS: '0',
    // Every test client is 127.0.0.1 with the one bootstrapped admin key, and
    // rate-limit counters live a minute: tests that test limits set their own.
    RATE_LIMIT_API_PER_MINUTE: '1000000',
    RATE_LIMIT_CLIENT_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '1000000',
    RATE_LIMIT_REDIRECT_PER_SECOND: '1000000',
    ...overrides,
  };
}

/** The admin key every test app bootstraps (format `sk_<prefix>_<secret>`). */
export const TEST_ADMIN_KEY = 'sk_testadmin0001_0123456789abcdefghijklmnopqrstuv';

/** A parsed config for this worker, with overrides of environment variables. */
export function testConfig(role: AppRole = 'api', overrides: Record<string, string> = {}): AppConfig {
  return loadConfig(role, testEnv(overrides));
}
