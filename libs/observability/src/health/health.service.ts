import { Inject, Injectable, OnApplicationShutdown, OnModuleInit, Optional, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import {
  CODE_SCHEMA_VERSION,
  DatabaseConnector,
  OLDEST_COMPATIBLE_SCHEMA_VERSION,
  readSchemaCompatibility,
  SchemaCompatibility,
  schemaIncompatibility,
} from '@shortener/database';
import { CACHE_REDIS, cacheRedisOptions, InvalidationBus, QUEUE_HEALTH_TTL_MS, QUEUE_REDIS, REDIS_KEYS } from '@shortener/redis';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service';
import { ProcessLifecycle } from './process-lifecycle';
import { withTimeout } from './with-timeout';

/** Bound of every dependency check (milliseconds): below the chart's 2 s probe timeout. */
export const HEALTH_CHECK_TIMEOUT_MS = 1_000;

/** A dependency as named in the readiness body and the `dependency` metric label. */
export type Dependency = 'postgres' | 'redis_cache' | 'redis_queue';

/**
 * PINGs a client without an offline queue. A client still making its first
 * connection is given the chance to finish it (the caller's timeout bounds
 * the wait); one that lost its connection fails at once with its state.
 */
async function ping(client: Redis): Promise<void> {
  if (client.status === 'connecting' || client.status === 'connect' || client.status === 'wait') {
    if (client.status === 'wait') client.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        client.off('end', onEnd);
        resolve();
      };
      const onEnd = (): void => {
        client.off('ready', onReady);
        reject(new Error('connection ended'));
      };
      client.once('ready', onReady);
      client.once('end', onEnd);
    });
  } else if (client.status !== 'ready') {
    throw new Error(`not connected (${client.status})`);
  }
  await client.ping();
}

/**
 * {@link ping}, then one small write (a key under the queue prefix that
 * expires after a minute): a queue Redis out of memory (`noeviction`) answers
 * PING but refuses every job, and must show as down with Redis's own error.
 */
async function writable(client: Redis, key: string): Promise<void> {
  await ping(client);
  await client.set(key, String(Date.now()), 'PX', QUEUE_HEALTH_TTL_MS);
}

/**
 * A probe's answer. The body keeps @nestjs/terminus's shape (`info`, `error`,
 * `details` keyed by check) with two additions: every check says whether it is
 * `critical` (a critical check that is down fails the probe), and `status` is
 * `degraded` when only non-critical checks are down.
 */
export interface ProbeResult {
  /** HTTP status: 200, or 503 when a critical check is down. */
  httpStatus: 200 | 503;
  body: {
    status: 'ok' | 'degraded' | 'error';
    info: Record<string, CheckDetails>;
    error: Record<string, CheckDetails>;
    details: Record<string, CheckDetails>;
  };
}

/** One check's entry in a probe body. */
export interface CheckDetails {
  status: 'up' | 'down';
  critical: boolean;
  /** Why it is down (or why a stale result was used). */
  reason?: string;
  [key: string]: unknown;
}

/**
 * The health probes of docs/design.md section 7, over @nestjs/terminus:
 *
 * - live: the process only (the event loop answers); never a dependency, so
 *   an outage never gets pods restarted.
 * - startup: passes once boot finished (state `ready` or `draining`).
 * - ready: fails while starting or draining, and when the database schema is
 *   outside this code's compatible range [oldest compatible, newest known].
 *   Until this process has reached a dependency once (PostgreSQL: connected
 *   and its startup work done, see DatabaseConnector; each Redis: answered a
 *   check, and the invalidation bus subscribed), that dependency is
 *   critical: a process that starts while one is
 *   unreachable stays unready, naming it, until it connects. From then on
 *   PostgreSQL and Redis are reported (body and `shortener_dependency_up`)
 *   but do not fail the API's readiness: every pod shares them and redirects
 *   keep serving from cache. The worker's readiness always requires the
 *   queue Redis (it cannot take jobs without it).
 *
 * Every dependency check races {@link HEALTH_CHECK_TIMEOUT_MS} and reports
 * down with a reason instead of hanging or throwing.
 */
@Injectable()
export class HealthService implements OnModuleInit, OnApplicationShutdown {
  private lastSchema: { compatible: boolean; reason: string | null; schema: SchemaCompatibility | null } | undefined;
  private ownQueueRedis?: Redis;
  /** Dependencies a check of this process has found up at least once. */
  private readonly reached = new Set<Dependency>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly lifecycle: ProcessLifecycle,
    private readonly metrics: MetricsService,
    private readonly terminus: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    @Optional() private readonly dataSource?: DataSource,
    @Optional() @Inject(CACHE_REDIS) private readonly cacheRedis?: Redis,
    @Optional() @Inject(QUEUE_REDIS) private readonly queueRedis?: Redis,
    @Optional() private readonly connector?: DatabaseConnector,
    @Optional() private readonly bus?: InvalidationBus,
  ) {}

  onModuleInit(): void {
    // Connect early so the first probe does not see a connection still being set up.
    this.queueClient();
  }

  onApplicationShutdown(): void {
    this.ownQueueRedis?.disconnect();
  }

  /** Liveness: the process answers. Always 200 while the event loop runs. */
  async live(): Promise<ProbeResult> {
    return this.run([async () => this.indicator.check('process').up({ critical: true, uptimeSeconds: Math.floor(this.lifecycle.uptimeMs / 1000) })]);
  }

  /** Startup: 503 while booting, 200 once boot finished (also while draining). */
  async startup(): Promise<ProbeResult> {
    return this.run([
      async () => {
        const state = this.lifecycle.state;
        const session = this.indicator.check('process');
        return state === 'starting' ? session.down({ critical: true, state, reason: 'starting' }) : session.up({ critical: true, state });
      },
    ]);
  }

  /**
   * Readiness as described on the class; also refreshes the dependency
   * gauges. One PostgreSQL statement per probe: the schema read is also the
   * PostgreSQL check, so a probe needs a single connection (a process that
   * starts with one connection slot left becomes ready on it).
   */
  async ready(): Promise<ProbeResult> {
    const ds = this.dataSource;
    let read: Promise<SchemaCompatibility | null> | undefined;
    const schemaRead = ds ? () => (read ??= readSchemaCompatibility((sql) => ds.query(sql))) : undefined;
    return this.run([
      async () => {
        const state = this.lifecycle.state;
        const session = this.indicator.check('process');
        return state === 'ready' ? session.up({ critical: true, state }) : session.down({ critical: true, state, reason: state });
      },
      () => this.checkSchema(schemaRead),
      ...this.dependencyChecks(schemaRead),
    ]);
  }

  /** Runs the dependency checks only, to refresh `shortener_dependency_up` before a scrape. */
  async refreshDependencyMetrics(): Promise<void> {
    await Promise.all(this.dependencyChecks().map((check) => check()));
  }

  /** @param pgStatement the PostgreSQL round trip to check with; `SELECT 1` by default. */
  private dependencyChecks(pgStatement?: () => Promise<unknown>): (() => Promise<HealthIndicatorResult>)[] {
    const checks: (() => Promise<HealthIndicatorResult>)[] = [];
    const worker = this.config.role === 'worker';
    if (this.dataSource) {
      const ds = this.dataSource;
      const connector = this.connector;
      checks.push(() =>
        this.checkDependency('postgres', false, async () => {
          const status = connector?.status();
          if (status && !status.ready) throw new Error(status.reason);
          await (pgStatement ? pgStatement() : ds.query('SELECT 1'));
        }),
      );
    }
    if (this.cacheRedis) {
      const redis = this.cacheRedis;
      const bus = this.bus;
      checks.push(() =>
        this.checkDependency('redis_cache', false, async () => {
          await ping(redis);
          // Before its first subscription a process would miss invalidations of what it caches.
          if (bus && !bus.isSubscribed && !this.reached.has('redis_cache')) throw new Error('the invalidation bus has not subscribed yet');
        }),
      );
    }
    checks.push(() => this.checkDependency('redis_queue', worker, () => writable(this.queueClient(), REDIS_KEYS.queueHealth.key(this.config.redis))));
    return checks;
  }

  /** @param critical whether it fails readiness once reached; before that it always does. */
  private async checkDependency(name: Dependency, critical: boolean, probe: () => Promise<unknown>): Promise<HealthIndicatorResult> {
    const started = performance.now();
    const session = this.indicator.check(name);
    try {
      await withTimeout(probe(), HEALTH_CHECK_TIMEOUT_MS, name);
      this.reached.add(name);
      this.metrics.dependencyUp.labels(name).set(1);
      return session.up({ critical, latencyMs: Math.round(performance.now() - started) });
    } catch (e) {
      this.metrics.dependencyUp.labels(name).set(0);
      const neverReached = !this.reached.has(name);
      return session.down({ critical: critical || neverReached, ...(neverReached ? { reached: false } : {}), reason: (e as Error).message || String(e) });
    }
  }

  /** @param schemaRead the probe's schema read (shared with the PostgreSQL check); none without a database. */
  private async checkSchema(schemaRead: (() => Promise<SchemaCompatibility | null>) | undefined): Promise<HealthIndicatorResult> {
    const session = this.indicator.check('schema');
    const code = { codeVersion: CODE_SCHEMA_VERSION, oldestCompatible: OLDEST_COMPATIBLE_SCHEMA_VERSION };
    if (!schemaRead) return session.down({ critical: false, reason: 'no database in this process', ...code });
    try {
      const schema = await withTimeout(schemaRead(), HEALTH_CHECK_TIMEOUT_MS, 'schema read');
      const reason = schemaIncompatibility(schema);
      this.lastSchema = { compatible: reason === null, reason, schema };
      this.lifecycle.setSchemaCompatible(reason === null);
    } catch (e) {
      // PostgreSQL is out: its outage must not fail readiness, so the last
      // result read stands (an incompatible schema stays a failure).
      const reason = `could not read the schema version: ${(e as Error).message}`;
      if (!this.lastSchema) return session.down({ critical: false, reason, ...code });
      const last = this.lastSchema;
      const details = { stale: true, reason: last.reason ?? reason, version: last.schema?.version, minCodeVersion: last.schema?.minCodeVersion, ...code };
      return last.compatible ? session.up({ critical: true, ...details }) : session.down({ critical: true, ...details });
    }
    const { reason, schema } = this.lastSchema;
    const details = { version: schema?.version, minCodeVersion: schema?.minCodeVersion, ...code };
    return reason === null ? session.up({ critical: true, ...details }) : session.down({ critical: true, reason, ...details });
  }

  private queueClient(): Redis {
    if (this.queueRedis) return this.queueRedis;
    if (!this.ownQueueRedis) {
      // No offline queue and a command timeout: a probe fails at once while Redis is away.
      this.ownQueueRedis = new Redis(this.config.redis.queueUrl, {
        ...cacheRedisOptions(this.config),
        connectionName: `shortener-${this.config.role}-health`,
      });
      this.ownQueueRedis.on('error', () => undefined);
    }
    return this.ownQueueRedis;
  }

  private async run(checks: (() => Promise<HealthIndicatorResult>)[]): Promise<ProbeResult> {
    let result: HealthCheckResult;
    try {
      result = await this.terminus.check(checks);
    } catch (e) {
      // terminus answers "any check down" (or "shutting down") with a 503 carrying the result.
      if (!(e instanceof ServiceUnavailableException)) throw e;
      result = e.getResponse() as HealthCheckResult;
    }
    const details = ((result.details as HealthCheckResult['details'] | undefined) ?? {}) as Record<string, CheckDetails>;
    const down = Object.values(details).filter((d) => d.status === 'down');
    const failed = down.some((d) => d.critical) || result.status === 'shutting_down';
    return {
      httpStatus: failed ? 503 : 200,
      body: {
        status: failed ? 'error' : down.length > 0 ? 'degraded' : 'ok',
        info: (result.info ?? {}) as Record<string, CheckDetails>,
        error: (result.error ?? {}) as Record<string, CheckDetails>,
        details,
      },
    };
  }
}
