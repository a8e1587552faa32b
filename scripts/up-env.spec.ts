import { loadConfig } from '@shortener/config';
import { DEV_APP_ROLE, DEV_OWNER_ROLE, upEnvironment } from './up-env.mjs';

describe('npm run up environment', () => {
  it('binds the API and both management listeners to loopback by default', () => {
    const env = upEnvironment({});
    expect([env.HTTP_HOST, env.MANAGEMENT_HOST]).toEqual(['127.0.0.1', '127.0.0.1']);
    const api = loadConfig('api', env);
    const worker = loadConfig('worker', env);
    expect([api.http.host, api.management.host, worker.management.host]).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  });

  it('connects the apps as the app role and migrates as the owner role; a DATABASE_URL given alone serves both', () => {
    const db = (env: NodeJS.ProcessEnv) => loadConfig('api', upEnvironment(env)).db;
    expect([DEV_APP_ROLE, DEV_OWNER_ROLE]).toEqual(['shortener_app', 'shortener_owner']);
    expect(db({})).toMatchObject({
      url: 'postgres://shortener_app@127.0.0.1:5432/shortener',
      migrationUrl: 'postgres://shortener_owner@127.0.0.1:5432/shortener',
    });
    expect(db({ DATABASE_URL: 'postgres://me@db:5433/x' })).toMatchObject({ url: 'postgres://me@db:5433/x', migrationUrl: 'postgres://me@db:5433/x' });
    expect(db({ DATABASE_URL: 'postgres://a@db/x', DATABASE_MIGRATION_URL: 'postgres://o@db/x' })).toMatchObject({
      url: 'postgres://a@db/x',
      migrationUrl: 'postgres://o@db/x',
    });
  });

  it('keeps HTTP_HOST and MANAGEMENT_HOST when they are set, and the apps keep 0.0.0.0 as their own default', () => {
    expect(upEnvironment({ HTTP_HOST: '0.0.0.0', MANAGEMENT_HOST: '::' })).toMatchObject({ HTTP_HOST: '0.0.0.0', MANAGEMENT_HOST: '::' });
    const image = loadConfig('api', {});
    expect([image.http.host, image.management.host]).toEqual(['0.0.0.0', '0.0.0.0']);
  });
});
