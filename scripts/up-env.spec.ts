import { loadConfig } from '@shortener/config';
import { upEnvironment } from './up-env.mjs';

describe('npm run up environment', () => {
  it('binds the API and both management listeners to loopback by default', () => {
    const env = upEnvironment({});
    expect([env.HTTP_HOST, env.MANAGEMENT_HOST]).toEqual(['127.0.0.1', '127.0.0.1']);
    const api = loadConfig('api', env);
    const worker = loadConfig('worker', env);
    expect([api.http.host, api.management.host, worker.management.host]).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  });

  it('keeps HTTP_HOST and MANAGEMENT_HOST when they are set, and the apps keep 0.0.0.0 as their own default', () => {
    expect(upEnvironment({ HTTP_HOST: '0.0.0.0', MANAGEMENT_HOST: '::' })).toMatchObject({ HTTP_HOST: '0.0.0.0', MANAGEMENT_HOST: '::' });
    const image = loadConfig('api', {});
    expect([image.http.host, image.management.host]).toEqual(['0.0.0.0', '0.0.0.0']);
  });
});
