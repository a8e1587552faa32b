import { ConfigError, loadConfig } from './app-config';

describe(loadConfig.name, () => {
  it('applies defaults and picks the management port per role', () => {
    expect(loadConfig('api', {}).management.port).toBe(9464);
    expect(loadConfig('worker', {}).management.port).toBe(9465);
    expect(loadConfig('api', {}).domains.default).toEqual({ host: 'localhost', baseUrl: 'http://localhost:3000' });
  });

  it('reads the worker\'s click group commit settings: 32 jobs held, a transaction every 500 ms at most, 0 for back to back', () => {
    const worker = (env: Record<string, string>) => loadConfig('worker', env).worker;
    expect([worker({}).concurrency, worker({}).clickCommitIntervalMs]).toEqual([32, 500]);
    expect(worker({ WORKER_CONCURRENCY: '8', CLICK_COMMIT_INTERVAL_MS: '0' })).toMatchObject({ concurrency: 8, clickCommitIntervalMs: 0 });
    expect(() => loadConfig('worker', { CLICK_COMMIT_INTERVAL_MS: '60001' })).toThrow(/CLICK_COMMIT_INTERVAL_MS/);
  });

  it('lists every bad key at once', () => {
    let error: unknown;
    try {
      loadConfig('api', { HTTP_PORT: 'x', DATABASE_POOL_SIZE: '0', LOG_LEVEL: 'loud' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.split(':')[0]).sort()).toEqual(['DATABASE_POOL_SIZE', 'HTTP_PORT', 'LOG_LEVEL']);
  });

  it('requires secrets in production', () => {
    expect(() => loadConfig('api', { NODE_ENV: 'production' })).toThrow(/API_KEY_PEPPER: required/);
  });

  it('normalises IDN domains to A-labels', () => {
    const c = loadConfig('api', { PUBLIC_BASE_URL: 'https://Bücher.Example', EXTRA_PUBLIC_BASE_URLS: 'https://go.example:8443' });
    expect(c.domains.all).toEqual([
      { host: 'xn--bcher-kva.example', baseUrl: 'https://xn--bcher-kva.example' },
      { host: 'go.example', baseUrl: 'https://go.example:8443' },
    ]);
  });
});
