import { z } from 'zod';

/**
 * The raw process environment the apps accept, as a zod schema.
 *
 * Every variable is documented in README.md (Configuration). Durations carry
 * their unit in the name (`_MS`, `_SECONDS`); sizes are bytes. Secrets have
 * development defaults only when `NODE_ENV` is not `production`
 * (see {@link loadConfig}).
 */
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);
const url = z.url();

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // HTTP
  HTTP_HOST: z.string().default('0.0.0.0'),
  HTTP_PORT: int(0, 65535).default(3000),
  /** Management server (/metrics, /health/*); default 9464 for the API, 9465 for the worker. */
  MANAGEMENT_PORT: int(0, 65535).optional(),
  MANAGEMENT_HOST: z.string().default('0.0.0.0'),
  /** Above the load balancer's idle timeout (AWS ALB 60 s, GCLB 600 s is configured there). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(1_000, 3_600_000).default(72_000),
  /** Largest request body of every route but the bulk create: one link, one key, one blocklist entry. */
  HTTP_BODY_LIMIT_BYTES: int(1_024, 64 * 1024 * 1024).default(64 * 1024),
  /** Largest body of `POST /api/v1/links/bulk`: fits 1,000 links at the maximum target length. */
  HTTP_BULK_BODY_LIMIT_BYTES: int(1_024, 256 * 1024 * 1024).default(10 * 1024 * 1024),
  /** Bulk creates received and handled at once per process; more answer 503 before their body is read. */
  HTTP_BULK_MAX_IN_FLIGHT: int(1, 1_000).default(1),
  /**
   * Bytes per second at which each process reads the bodies of bulk creates:
   * a client sending bulk creates back to back takes a bounded share of the
   * process's core (a 10 MiB bulk costs about 0.4 s of CPU).
   */
  HTTP_BULK_BODY_BYTES_PER_SECOND: int(65_536, 1024 * 1024 * 1024).default(1024 * 1024),
  /** Deepest nesting of arrays and objects a JSON body may have; deeper is refused before parsing. */
  HTTP_JSON_MAX_DEPTH: int(1, 1_000).default(32),
  /** Time a client has to send the request line and headers. */
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Idle time allowed between body chunks received, and for a response write the client does not accept. */
  HTTP_BODY_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Time a client has to send the whole request, headers and body. */
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  /** End-to-end deadline of an API request once its body is read: its pool waits and statements share it (503 past it). */
  HTTP_REQUEST_DEADLINE_MS: int(100, 600_000).default(10_000),
  /** Open connections of the public listener per process; more are closed as they arrive. */
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(10_000),
  /** Documentation downloads (docs UI assets, OpenAPI document) in flight per process, each until its client read it all. */
  HTTP_MAX_DOWNLOADS: int(1, 10_000).default(32),
  /** Longest a documentation download may take the client to read before its connection is reset. */
  HTTP_SEND_TIMEOUT_MS: int(1_000, 3_600_000).default(60_000),
  /** Connections waiting to be accepted (the listen backlog; the kernel caps it at net.core.somaxconn). */
  HTTP_LISTEN_BACKLOG: int(1, 65_535).default(4_096),
  /** Open connections from one peer address per process (0: no cap); behind a proxy the peer is the proxy. */
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: int(0, 1_000_000).default(1_000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(25_000),
  /** Old space may grow to (1 + this / 100) times what survived a major GC before the next (0: V8 decides). */
  V8_HEAP_GROWING_PERCENT: int(0, 400).default(100),
  /** Load shedding: above this mean event-loop delay the API answers 503 (0 disables). */
  HTTP_MAX_EVENT_LOOP_DELAY_MS: int(0, 60_000).default(1_000),
  CORS_ORIGINS: list.default([]),
  TRUSTED_PROXIES: list.default([]),

  // Short domains: the default domain's public base URL, plus optional extra ones.
  PUBLIC_BASE_URL: url.default('http://localhost:3000'),
  /** Extra short domains as comma-separated `https://host[:port]` base URLs. */
  EXTRA_PUBLIC_BASE_URLS: list.default([]),

  // Links
  MAX_TARGET_LENGTH_BYTES: int(256, 65_536).default(8_192),
  PERMANENT_REDIRECT_MAX_AGE_SECONDS: int(0, 31_536_000).default(3_600),
  /**
   * Redirect lookups (in neither the in-process cache nor Redis) that may wait
   * for PostgreSQL per process; one more answers 503 at once.
   */
  REDIRECT_DB_MAX_QUEUED: int(1, 1_000_000).default(1_000),
  CODE_PERMUTATION_KEY: z.string().min(16).optional(),
  BLOCKED_HOSTS: list.default([]),

  // PostgreSQL
  /** The role the API and the worker connect as: no DDL rights, no superuser (README: Configuration). */
  DATABASE_URL: url.default('postgres://postgres@127.0.0.1:5432/shortener'),
  /** The owner role the migration runner connects as; `DATABASE_URL` when unset. */
  DATABASE_MIGRATION_URL: url.optional(),
  DATABASE_REPLICA_URLS: list.default([]),
  DATABASE_POOL_SIZE: int(1, 500).default(10),
  DATABASE_STATEMENT_TIMEOUT_MS: int(0, 3_600_000).default(5_000),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(0, 3_600_000).default(10_000),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 120_000).default(5_000),
  /**
   * Backoff of the first connection of the API and the worker: the first
   * retry after about this many ms, doubling, jittered, up to
   * DATABASE_CONNECT_BACKOFF_MAX_MS; the process retries until it connects.
   */
  DATABASE_CONNECT_BACKOFF_INITIAL_MS: int(10, 60_000).default(250),
  DATABASE_CONNECT_BACKOFF_MAX_MS: int(100, 600_000).default(10_000),
  MIGRATION_LOCK_TIMEOUT_MS: int(100, 600_000).default(10_000),
  MIGRATION_RETRIES: int(0, 100).default(5),

  // Redis: two roles that may share one server in development.
  REDIS_QUEUE_URL: url.default('redis://127.0.0.1:6379/0'),
  REDIS_CACHE_URL: url.default('redis://127.0.0.1:6379/0'),
  /** Prefix of every cache, rate-limit and bus key. */
  REDIS_KEY_PREFIX: z.string().default('shortener:'),
  /** BullMQ prefix; the braces are a Redis Cluster hash tag keeping a queue's keys on one slot. */
  QUEUE_PREFIX: z.string().default('{shortener}'),
  REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(500),

  // Redirect caches
  CACHE_LRU_MAX_ENTRIES: int(0, 10_000_000).default(100_000),
  CACHE_LRU_TTL_MS: int(0, 3_600_000).default(10_000),
  CACHE_REDIS_TTL_SECONDS: int(1, 2_592_000).default(3_600),
  CACHE_NEGATIVE_TTL_SECONDS: int(1, 86_400).default(60),

  // Clicks
  CLICK_BATCH_SIZE: int(1, 10_000).default(500),
  CLICK_FLUSH_INTERVAL_MS: int(10, 60_000).default(1_000),
  /**
   * Clicks the click queue may hold (published, not yet committed) before the
   * API drops new ones; size the queue Redis for it (about 300 bytes per click, docs/runbooks.md).
   */
  CLICK_MAX_QUEUE_CLICKS: int(1, 1_000_000_000).default(1_000_000),
  /**
   * Clicks each API process keeps while the queue Redis refuses publishes
   * (retried with backoff); beyond it clicks are dropped. Memory: at most
   * (ceil(CLICK_BUFFER_MAX_CLICKS / CLICK_BATCH_SIZE) + 1) x 256 KiB.
   */
  CLICK_BUFFER_MAX_CLICKS: int(1, 10_000_000).default(20_000),
  CLICK_COUNTRY_HEADER: z.string().optional(),
  CLICK_IP_SALT: z.string().min(16).optional(),
  /**
   * Click-batch jobs a worker holds at once. The batches that wait together
   * commit in one rollup transaction, so this bounds a transaction's size.
   */
  WORKER_CONCURRENCY: int(1, 256).default(32),
  /**
   * Least time (ms) between the starts of two rollup transactions of a
   * worker: click batches arriving meanwhile commit together in the next one
   * (0: as soon as the previous one ends). After a quiet spell a batch commits at once.
   */
  CLICK_COMMIT_INTERVAL_MS: int(0, 60_000).default(500),
  EXPIRY_INTERVAL_MS: int(1_000, 86_400_000).default(60_000),
  DELETED_LINK_RETENTION_DAYS: int(0, 3_650).default(30),
  BATCH_ID_RETENTION_HOURS: int(1, 8_760).default(72),
  /** BullMQ job lock: a worker that dies mid-job has its job retried after about twice this. */
  WORKER_JOB_LOCK_MS: int(1_000, 600_000).default(30_000),

  // Security
  API_KEY_PEPPER: z.string().min(16).optional(),
  /** An admin API key (`sk_<prefix>_<secret>`) created at boot if missing. */
  BOOTSTRAP_ADMIN_KEY: z.string().optional(),
  /**
   * Lifetime of a key in the in-process API-key cache: a safety net only, since
   * revocation evicts it at once through the invalidation bus (0 disables the cache).
   */
  API_KEY_CACHE_TTL_MS: int(0, 3_600_000).default(5_000),
  RATE_LIMIT_API_PER_MINUTE: int(0, 1_000_000).default(600),
  RATE_LIMIT_CLIENT_PER_MINUTE: int(0, 1_000_000).default(1_200),
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: int(0, 1_000_000).default(30),
  RATE_LIMIT_REDIRECT_PER_SECOND: int(0, 1_000_000).default(200),

  // Tracing (the standard OTEL_* variables are read by the OpenTelemetry SDK itself).
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_SERVICE_NAME: z.string().optional(),
});

/** The parsed, flat environment. */
export type Env = z.infer<typeof envSchema>;
