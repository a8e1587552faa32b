import { createHash } from 'node:crypto';
import { envSchema, Env } from './env.schema';

/** Which process is loading the configuration; decides defaults such as the management port. */
export type AppRole = 'api' | 'worker' | 'migrations';

/** A short domain: the host links are served on and the base URL short URLs are built from. */
export interface ShortDomain {
  /** Lower-case host without port, IDNA A-labels (`xn--...`). */
  host: string;
  /** Origin with no trailing slash, e.g. `https://sho.rt`. */
  baseUrl: string;
}

/** The whole configuration of a process, parsed once from the environment. */
export interface AppConfig {
  role: AppRole;
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  http: {
    host: string;
    port: number;
    keepAliveTimeoutMs: number;
    /** Body limit (bytes) of every route but the bulk create. */
    bodyLimitBytes: number;
    /** Body limit (bytes) of `POST /api/v1/links/bulk`. */
    bulkBodyLimitBytes: number;
    /** Bulk creates received and handled at once per process. */
    bulkMaxInFlight: number;
    /** HTTP_BULK_BODY_BYTES_PER_SECOND: bulk bodies are read at most this fast per process. */
    bulkBodyBytesPerSecond: number;
    /** Deepest nesting of JSON arrays and objects accepted in a body. */
    jsonMaxDepth: number;
    headersTimeoutMs: number;
    /** Socket idle time (ms) during a request and while a response is written. */
    bodyTimeoutMs: number;
    requestTimeoutMs: number;
    /** HTTP_REQUEST_DEADLINE_MS: end-to-end deadline (ms) of an API request once its body is read. */
    requestDeadlineMs: number;
    maxConnections: number;
    /** Documentation downloads in flight per process. */
    maxDownloads: number;
    /** Time (ms) a client has to read a documentation download. */
    sendTimeoutMs: number;
    /** Listen backlog (connections not yet accepted). */
    listenBacklog: number;
    /** 0: no cap per peer address. */
    maxConnectionsPerAddress: number;
    maxEventLoopDelayMs: number;
    corsOrigins: string[];
    trustedProxies: string[];
  };
  management: { host: string; port: number };
  shutdownTimeoutMs: number;
  /** V8's old-generation growing factor in percent (`setHeapGrowingPercent`); 0 leaves it to V8. */
  heapGrowingPercent: number;
  domains: { default: ShortDomain; all: ShortDomain[] };
  links: {
    maxTargetLengthBytes: number;
    permanentRedirectMaxAgeSeconds: number;
    /** REDIRECT_DB_MAX_QUEUED: redirect lookups that may wait for PostgreSQL per process. */
    redirectDbMaxQueued: number;
    codePermutationKey: string;
    blockedHosts: string[];
  };
  db: {
    /** DATABASE_URL: the app role (reads and writes rows, no DDL). */
    url: string;
    /** DATABASE_MIGRATION_URL, else DATABASE_URL: the owner role the migration runner connects as. */
    migrationUrl: string;
    replicaUrls: string[];
    poolSize: number;
    statementTimeoutMs: number;
    idleInTransactionTimeoutMs: number;
    connectTimeoutMs: number;
    /** First connection's backoff (ms): the first retry's delay, and the longest one. */
    connectBackoff: { initialMs: number; maxMs: number };
    migrationLockTimeoutMs: number;
    migrationRetries: number;
  };
  redis: {
    queueUrl: string;
    cacheUrl: string;
    keyPrefix: string;
    queuePrefix: string;
    commandTimeoutMs: number;
  };
  cache: { lruMaxEntries: number; lruTtlMs: number; redisTtlSeconds: number; negativeTtlSeconds: number };
  clicks: {
    batchSize: number;
    flushIntervalMs: number;
    /** CLICK_MAX_QUEUE_CLICKS: clicks the queue may hold before new ones are dropped. */
    maxQueueClicks: number;
    /** CLICK_BUFFER_MAX_CLICKS: clicks each API process buffers while publishes fail. */
    bufferMaxClicks: number;
    countryHeader?: string;
    ipSalt: string;
  };
  worker: {
    /** BullMQ concurrency of the click queue: click-batch jobs held at once (they commit together). */
    concurrency: number;
    /** Least time (ms) between the starts of two rollup transactions; 0 for back to back. */
    clickCommitIntervalMs: number;
    expiryIntervalMs: number;
    deletedLinkRetentionDays: number;
    batchIdRetentionHours: number;
    /** BullMQ job lock duration (ms); also the stalled-job check interval. */
    jobLockMs: number;
  };
  security: {
    apiKeyPepper: string;
    bootstrapAdminKey?: string;
    /** TTL (ms) of the in-process API-key cache; 0 disables it. */
    apiKeyCacheTtlMs: number;
    rateLimits: { apiPerMinute: number; clientPerMinute: number; authFailuresPerMinute: number; redirectPerSecond: number };
  };
  otel: { disabled: boolean; serviceName: string };
}

/** Thrown when the environment is invalid; `issues` lists every bad key at once. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const SECRET_KEYS = ['CODE_PERMUTATION_KEY', 'CLICK_IP_SALT', 'API_KEY_PEPPER'] as const;

/** Builds a domain from a base URL, normalising the host with the WHATWG URL parser (IDNA, case). */
function toDomain(baseUrl: string): ShortDomain {
  const parsed = new URL(baseUrl);
  return { host: parsed.hostname.toLowerCase(), baseUrl: parsed.origin };
}

/**
 * Parses and validates the environment into an {@link AppConfig}.
 *
 * @param role which process; decides the default management port (api 9464, worker 9465).
 * @param raw the environment, `process.env` by default.
 * @throws ConfigError naming every invalid key, never only the first.
 */
export function loadConfig(role: AppRole, raw: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings mean "unset" so that `FOO=` in a manifest falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const e = parsed.data;
  const issues: string[] = [];
  const production = e.NODE_ENV === 'production';
  const secret = (key: (typeof SECRET_KEYS)[number]): string => {
    const value = e[key];
    if (value) return value;
    if (production) issues.push(`${key}: required when NODE_ENV=production`);
    // Development default: stable per key name so restarts keep codes and hashes stable.
    return createHash('sha256').update(`shortener-dev-${key}`).digest('hex');
  };
  const codePermutationKey = secret('CODE_PERMUTATION_KEY');
  const ipSalt = secret('CLICK_IP_SALT');
  const apiKeyPepper = secret('API_KEY_PEPPER');

  const domains: ShortDomain[] = [];
  for (const [key, value] of [['PUBLIC_BASE_URL', e.PUBLIC_BASE_URL], ...e.EXTRA_PUBLIC_BASE_URLS.map((v) => ['EXTRA_PUBLIC_BASE_URLS', v])]) {
    try {
      const parsedUrl = new URL(value);
      if (!['http:', 'https:'].includes(parsedUrl.protocol) || parsedUrl.pathname !== '/' || parsedUrl.search || parsedUrl.hash) {
        issues.push(`${key}: ${value} must be an http(s) origin without path, query or fragment`);
        continue;
      }
      domains.push(toDomain(value));
    } catch {
      issues.push(`${key}: ${value} is not a URL`);
    }
  }
  if (new Set(domains.map((d) => d.host)).size !== domains.length) issues.push('EXTRA_PUBLIC_BASE_URLS: a host appears twice');
  // Node refuses a headers timeout longer than the request timeout.
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) issues.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS');
  // A bulk at the size limit must arrive, at the paced rate, well within the request timeout.
  const bulkReadMs = Math.ceil((e.HTTP_BULK_BODY_LIMIT_BYTES / e.HTTP_BULK_BODY_BYTES_PER_SECOND) * 1000);
  if (bulkReadMs * 2 > e.HTTP_REQUEST_TIMEOUT_MS) {
    issues.push(
      `HTTP_BULK_BODY_BYTES_PER_SECOND: reading HTTP_BULK_BODY_LIMIT_BYTES (${e.HTTP_BULK_BODY_LIMIT_BYTES}) takes ${bulkReadMs} ms at this rate; at most half of HTTP_REQUEST_TIMEOUT_MS (${e.HTTP_REQUEST_TIMEOUT_MS}) is allowed`,
    );
  }
  if (e.DATABASE_CONNECT_BACKOFF_INITIAL_MS > e.DATABASE_CONNECT_BACKOFF_MAX_MS) {
    issues.push('DATABASE_CONNECT_BACKOFF_INITIAL_MS: must not exceed DATABASE_CONNECT_BACKOFF_MAX_MS');
  }
  if (issues.length > 0) throw new ConfigError(issues);

  return {
    role,
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    http: {
      host: e.HTTP_HOST,
      port: e.HTTP_PORT,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES,
      bulkBodyLimitBytes: e.HTTP_BULK_BODY_LIMIT_BYTES,
      bulkMaxInFlight: e.HTTP_BULK_MAX_IN_FLIGHT,
      bulkBodyBytesPerSecond: e.HTTP_BULK_BODY_BYTES_PER_SECOND,
      jsonMaxDepth: e.HTTP_JSON_MAX_DEPTH,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      bodyTimeoutMs: e.HTTP_BODY_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      requestDeadlineMs: e.HTTP_REQUEST_DEADLINE_MS,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      listenBacklog: e.HTTP_LISTEN_BACKLOG,
      maxDownloads: e.HTTP_MAX_DOWNLOADS,
      sendTimeoutMs: e.HTTP_SEND_TIMEOUT_MS,
      maxConnectionsPerAddress: e.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
      maxEventLoopDelayMs: e.HTTP_MAX_EVENT_LOOP_DELAY_MS,
      corsOrigins: e.CORS_ORIGINS,
      trustedProxies: e.TRUSTED_PROXIES,
    },
    management: { host: e.MANAGEMENT_HOST, port: e.MANAGEMENT_PORT ?? (role === 'worker' ? 9465 : 9464) },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    heapGrowingPercent: e.V8_HEAP_GROWING_PERCENT,
    domains: { default: domains[0], all: domains },
    links: {
      maxTargetLengthBytes: e.MAX_TARGET_LENGTH_BYTES,
      permanentRedirectMaxAgeSeconds: e.PERMANENT_REDIRECT_MAX_AGE_SECONDS,
      redirectDbMaxQueued: e.REDIRECT_DB_MAX_QUEUED,
      codePermutationKey,
      blockedHosts: e.BLOCKED_HOSTS.map((h) => h.toLowerCase()),
    },
    db: {
      url: e.DATABASE_URL,
      migrationUrl: e.DATABASE_MIGRATION_URL ?? e.DATABASE_URL,
      replicaUrls: e.DATABASE_REPLICA_URLS,
      poolSize: e.DATABASE_POOL_SIZE,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
      connectBackoff: { initialMs: e.DATABASE_CONNECT_BACKOFF_INITIAL_MS, maxMs: e.DATABASE_CONNECT_BACKOFF_MAX_MS },
      migrationLockTimeoutMs: e.MIGRATION_LOCK_TIMEOUT_MS,
      migrationRetries: e.MIGRATION_RETRIES,
    },
    redis: {
      queueUrl: e.REDIS_QUEUE_URL,
      cacheUrl: e.REDIS_CACHE_URL,
      keyPrefix: e.REDIS_KEY_PREFIX,
      queuePrefix: e.QUEUE_PREFIX,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    },
    cache: {
      lruMaxEntries: e.CACHE_LRU_MAX_ENTRIES,
      lruTtlMs: e.CACHE_LRU_TTL_MS,
      redisTtlSeconds: e.CACHE_REDIS_TTL_SECONDS,
      negativeTtlSeconds: e.CACHE_NEGATIVE_TTL_SECONDS,
    },
    clicks: {
      batchSize: e.CLICK_BATCH_SIZE,
      flushIntervalMs: e.CLICK_FLUSH_INTERVAL_MS,
      maxQueueClicks: e.CLICK_MAX_QUEUE_CLICKS,
      bufferMaxClicks: e.CLICK_BUFFER_MAX_CLICKS,
      countryHeader: e.CLICK_COUNTRY_HEADER?.toLowerCase(),
      ipSalt,
    },
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      clickCommitIntervalMs: e.CLICK_COMMIT_INTERVAL_MS,
      expiryIntervalMs: e.EXPIRY_INTERVAL_MS,
      deletedLinkRetentionDays: e.DELETED_LINK_RETENTION_DAYS,
      batchIdRetentionHours: e.BATCH_ID_RETENTION_HOURS,
      jobLockMs: e.WORKER_JOB_LOCK_MS,
    },
    security: {
      apiKeyPepper,
      bootstrapAdminKey: e.BOOTSTRAP_ADMIN_KEY,
      apiKeyCacheTtlMs: e.API_KEY_CACHE_TTL_MS,
      rateLimits: {
        apiPerMinute: e.RATE_LIMIT_API_PER_MINUTE,
        clientPerMinute: e.RATE_LIMIT_CLIENT_PER_MINUTE,
        authFailuresPerMinute: e.RATE_LIMIT_AUTH_FAILURES_PER_MINUTE,
        redirectPerSecond: e.RATE_LIMIT_REDIRECT_PER_SECOND,
      },
    },
    otel: { disabled: e.OTEL_SDK_DISABLED, serviceName: e.OTEL_SERVICE_NAME ?? `shortener-${role}` },
  };
}
