import { ConfigError, loadConfig } from './app-config';

describe(loadConfig.name, () => {
  it('applies defaults and picks the management port per role', () => {
    expect(loadConfig('api', {}).management.port).toBe(9464);
    expect(loadConfig('worker', {}).management.port).toBe(9465);
    expect(loadConfig('api', {}).domains.default).toEqual({ host: 'localhost', baseUrl: 'http://localhost:3000' });
  });

  it("reads the worker's click group commit settings: 32 jobs held, a transaction every 500 ms at most, 0 for back to back", () => {
    const worker = (env: Record<string, string>) => loadConfig('worker', env).worker;
    expect([worker({}).concurrency, worker({}).clickCommitIntervalMs]).toEqual([32, 500]);
    expect(worker({ WORKER_CONCURRENCY: '8', CLICK_COMMIT_INTERVAL_MS: '0' })).toMatchObject({ concurrency: 8, clickCommitIntervalMs: 0 });
    expect(() => loadConfig('worker', { CLICK_COMMIT_INTERVAL_MS: '60001' })).toThrow(/CLICK_COMMIT_INTERVAL_MS/);
  });

  it('reads the HTTP limits with their defaults, and refuses a headers timeout longer than the request timeout', () => {
    expect(loadConfig('api', {}).http).toMatchObject({
      bodyLimitBytes: 65_536,
      bulkBodyLimitBytes: 10_485_760,
      bulkMaxInFlight: 1,
      bulkBodyBytesPerSecond: 1024 * 1024,
      jsonMaxDepth: 32,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      requestDeadlineMs: 10_000,
      maxConnections: 10_000,
      listenBacklog: 4_096,
      maxDownloads: 32,
      sendTimeoutMs: 60_000,
      maxConnectionsPerAddress: 1_000,
      keepAliveTimeoutMs: 72_000,
    });
    expect(() => loadConfig('api', { HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '15000' })).toThrow(
      /HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS/,
    );
    expect(() => loadConfig('api', { HTTP_JSON_MAX_DEPTH: '0' })).toThrow(/HTTP_JSON_MAX_DEPTH/);
  });

  it('refuses a bulk body pace at which a bulk at the size limit takes more than half the request timeout', () => {
    // 10 MiB at 256 KiB/s: 40,000 ms, more than 15,000 ms.
    expect(() => loadConfig('api', { HTTP_BULK_BODY_BYTES_PER_SECOND: '262144' })).toThrow(
      'HTTP_BULK_BODY_BYTES_PER_SECOND: reading HTTP_BULK_BODY_LIMIT_BYTES (10485760) takes 40000 ms at this rate; at most half of HTTP_REQUEST_TIMEOUT_MS (30000) is allowed',
    );
    expect(loadConfig('api', { HTTP_BULK_BODY_BYTES_PER_SECOND: '262144', HTTP_BULK_BODY_LIMIT_BYTES: '1048576' }).http.bulkBodyBytesPerSecond).toBe(262_144);
  });

  it("reads the migration URL (DATABASE_URL when unset) and the first connection's backoff, refusing a first delay above the longest", () => {
    const db = (env: Record<string, string>) => loadConfig('api', env).db;
    expect(db({ DATABASE_URL: 'postgres://app@db:5432/s' })).toMatchObject({
      url: 'postgres://app@db:5432/s',
      migrationUrl: 'postgres://app@db:5432/s',
      connectBackoff: { initialMs: 250, maxMs: 10_000 },
    });
    expect(db({ DATABASE_URL: 'postgres://app@db:5432/s', DATABASE_MIGRATION_URL: 'postgres://owner@db:5432/s' }).migrationUrl).toBe(
      'postgres://owner@db:5432/s',
    );
    expect(() => loadConfig('api', { DATABASE_MIGRATION_URL: 'not a url' })).toThrow(/DATABASE_MIGRATION_URL/);
    expect(() => loadConfig('api', { DATABASE_CONNECT_BACKOFF_INITIAL_MS: '5000', DATABASE_CONNECT_BACKOFF_MAX_MS: '1000' })).toThrow(
      /DATABASE_CONNECT_BACKOFF_INITIAL_MS: must not exceed DATABASE_CONNECT_BACKOFF_MAX_MS/,
    );
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
