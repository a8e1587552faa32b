// The environment `npm run up` starts the API and the worker with.

/** The published development admin key `npm run up` bootstraps and prints. */
export const DEV_ADMIN_KEY = 'sk_devadmin0001_DevelopmentOnlyAdminKeyChangeMe0001';

/** The roles `npm run up` creates: the owner runs the migrations, the apps connect as the app role. */
export const DEV_OWNER_ROLE = 'shortener_owner';
export const DEV_APP_ROLE = 'shortener_app';

/**
 * Development defaults under the caller's environment (which wins, key by
 * key): the local PostgreSQL (the apps as role `shortener_app`, migrations
 * as `shortener_owner`; a `DATABASE_URL` given alone is used for both, as
 * the apps do) and Redis, the published development admin key,
 * tracing off, short URLs on the API's port, and every listener on loopback
 * (`127.0.0.1`): the admin key is public, so the run is not reachable from
 * other machines unless `HTTP_HOST` / `MANAGEMENT_HOST` say so. The image and
 * the chart listen on `0.0.0.0`.
 *
 * @param {NodeJS.ProcessEnv} processEnv the caller's environment
 * @returns {Record<string, string | undefined>}
 */
export function upEnvironment(processEnv) {
  const database = processEnv.DATABASE_URL
    ? { DATABASE_MIGRATION_URL: processEnv.DATABASE_URL }
    : { DATABASE_URL: `postgres://${DEV_APP_ROLE}@127.0.0.1:5432/shortener`, DATABASE_MIGRATION_URL: `postgres://${DEV_OWNER_ROLE}@127.0.0.1:5432/shortener` };
  return {
    NODE_ENV: 'development',
    ...database,
    REDIS_QUEUE_URL: 'redis://127.0.0.1:6379/0',
    REDIS_CACHE_URL: 'redis://127.0.0.1:6379/0',
    PUBLIC_BASE_URL: `http://localhost:${processEnv.HTTP_PORT ?? '3000'}`,
    BOOTSTRAP_ADMIN_KEY: DEV_ADMIN_KEY,
    OTEL_SDK_DISABLED: 'true',
    HTTP_HOST: '127.0.0.1',
    MANAGEMENT_HOST: '127.0.0.1',
    ...processEnv,
  };
}
