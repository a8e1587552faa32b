import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { LogSummary } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { ExponentialBackoff, handleAll, IBackoffFactory, retry, RetryPolicy } from 'cockatiel';
import { DataSource } from 'typeorm';

/** Shortest time (ms) between two log lines about failed connection attempts (or failed startup work). */
export const CONNECT_LOG_SUMMARY_MS = 10_000;

/**
 * SQLSTATEs that point at the configuration (the role, password or database
 * of `DATABASE_URL`, or pg_hba.conf) rather than at the server's state, with
 * the hint logged beside them. They are retried like any other failure (an
 * operator may create the role or the database after the app started) but
 * logged at error level.
 */
export const CONFIGURATION_SQLSTATES: Readonly<Record<string, string>> = {
  '28P01': "password authentication failed: check the password of DATABASE_URL's role",
  '28000': "the server refuses the role: check DATABASE_URL's user exists and may log in, and pg_hba.conf",
  '3D000': "the database does not exist: create it, or correct DATABASE_URL's database name",
};

/**
 * One line naming a connection error: the message, then the SQLSTATE
 * (`28P01`, `53300`, ...) or the socket error code (`ECONNREFUSED`, ...).
 */
export function describeConnectError(error: unknown): string {
  const e = error as { message?: string; code?: unknown } | null | undefined;
  const message = e?.message || String(error);
  return typeof e?.code === 'string' && !message.includes(e.code) ? `${message} (${e.code})` : message;
}

/** Where the first connection stands, as the readiness probe reports it. */
export interface DatabaseConnectionStatus {
  /** True once connected and every startup task succeeded. */
  ready: boolean;
  /** Why not ready: the last connection error, or the startup work still pending. */
  reason?: string;
}

/**
 * Connects the process's TypeORM DataSource (created uninitialised by
 * {@link DatabaseModule}) in the background, so the API and the worker start
 * and answer their probes while PostgreSQL is unreachable, refuses
 * connections (`too_many_connections`, `cannot_connect_now`) or refuses the
 * role or database (logged at error level with a hint: see
 * {@link CONFIGURATION_SQLSTATES}); only configuration errors end a process,
 * and those are found before this runs.
 *
 * Attempts are retried until one succeeds, with a jittered exponential
 * backoff (cockatiel's decorrelated jitter) from
 * `DATABASE_CONNECT_BACKOFF_INITIAL_MS` up to `DATABASE_CONNECT_BACKOFF_MAX_MS`;
 * each attempt is bounded by `DATABASE_CONNECT_TIMEOUT_MS`. Failures are
 * logged at most once per {@link CONNECT_LOG_SUMMARY_MS} with their count.
 *
 * Providers that must query at boot register a startup task
 * ({@link runOnceConnected}) instead of querying in a lifecycle hook; the
 * readiness probe stays down until the connection and every startup task
 * succeeded ({@link status}).
 */
@Injectable()
export class DatabaseConnector implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Database');
  private readonly failures: LogSummary;
  private readonly configurationFailures: LogSummary;
  private readonly policy: RetryPolicy;
  private readonly abort = new AbortController();
  private readonly pending = new Set<string>();
  /** Startup tasks run one after the other: a server with one free slot serves them all. */
  private tasks: Promise<void> = Promise.resolve();
  private resolveConnected!: () => void;
  /** The `initialize()` call in flight, if any. */
  private attempt?: Promise<void>;
  private lastError?: string;
  private attempts = 0;
  private connectedNow = false;

  /**
   * Resolves once the DataSource is connected (before startup tasks ran).
   * Never rejects; stays pending when the process shuts down first.
   */
  readonly connected: Promise<void>;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.connected = new Promise((resolve) => (this.resolveConnected = resolve));
    this.failures = new LogSummary(this.logger, 'PostgreSQL not connected yet, retrying', CONNECT_LOG_SUMMARY_MS);
    this.configurationFailures = new LogSummary(
      {
        warn: (m) => {
          this.logger.error(m);
        },
      },
      'PostgreSQL refuses the configured connection, retrying',
      CONNECT_LOG_SUMMARY_MS,
    );
    this.policy = connectRetryPolicy(new ExponentialBackoff({ initialDelay: config.db.connectBackoff.initialMs, maxDelay: config.db.connectBackoff.maxMs }));
  }

  /** Starts connecting; never waits for it (boot goes on while PostgreSQL is away). */
  onModuleInit(): void {
    void this.connect();
  }

  /** Stops retrying, lets an attempt in flight end (within DATABASE_CONNECT_TIMEOUT_MS), and closes what it opened. */
  async onApplicationShutdown(): Promise<void> {
    this.abort.abort();
    await this.attempt?.catch(() => undefined);
    // @nestjs/typeorm destroys an initialised DataSource too; whichever runs second finds nothing to do.
    if (this.dataSource.isInitialized) await this.dataSource.destroy().catch(() => undefined);
  }

  /** Whether the DataSource has connected (startup work may still be running). */
  get isConnected(): boolean {
    return this.connectedNow;
  }

  /** Connection and startup work as the readiness probe reports them. */
  status(): DatabaseConnectionStatus {
    if (!this.connectedNow) {
      const why = this.lastError ? `${this.lastError} (attempt ${this.attempts})` : 'connecting';
      return { ready: false, reason: `not connected yet: ${why}` };
    }
    if (this.pending.size > 0) return { ready: false, reason: `connected; startup work pending: ${[...this.pending].join(', ')}` };
    return { ready: true };
  }

  /**
   * Resolves once connected and every startup task registered so far
   * succeeded (tests that boot an app in-process wait for it).
   */
  async ready(): Promise<void> {
    await this.connected;
    await this.tasks;
  }

  /**
   * Runs `task` once the DataSource is connected and the tasks registered
   * before it succeeded, retrying it with the connection's backoff until it
   * succeeds; readiness stays down meanwhile. For work a process must do at
   * boot (the bootstrap admin key, the first blocklist load). Never throws;
   * failures are logged.
   *
   * @param name shown in the readiness reason and the log, e.g. `blocklist load`
   */
  runOnceConnected(name: string, task: () => Promise<void>): void {
    this.pending.add(name);
    const previous = this.tasks;
    this.tasks = this.connected.then(() => previous).then(() => this.runTask(name, task));
  }

  /** Resolves once the task succeeded; stays pending when shutdown stopped its retries. */
  private async runTask(name: string, task: () => Promise<void>): Promise<void> {
    const summary = new LogSummary(this.logger, `startup work "${name}" failed, retrying`, CONNECT_LOG_SUMMARY_MS);
    try {
      await this.policy.execute(async ({ signal }) => {
        if (signal.aborted) throw signal.reason;
        try {
          await task();
        } catch (error) {
          summary.add(describeConnectError(error));
          throw error;
        }
      }, this.abort.signal);
    } catch {
      return new Promise<void>(() => undefined);
    }
    this.pending.delete(name);
  }

  private async connect(): Promise<void> {
    const started = Date.now();
    try {
      await this.policy.execute(async ({ signal }) => {
        if (signal.aborted) return;
        this.attempts += 1;
        try {
          this.attempt = this.dataSource.initialize().then(() => undefined);
          await this.attempt;
        } catch (error) {
          await this.releaseFailedAttempt();
          this.recordFailure(error);
          throw error;
        }
      }, this.abort.signal);
    } catch {
      return; // shutdown aborted the retries
    }
    if (!this.dataSource.isInitialized) return;
    this.connectedNow = true;
    this.lastError = undefined;
    if (this.attempts > 1) this.logger.log(`PostgreSQL connected after ${this.attempts} attempts (${Math.round((Date.now() - started) / 1000)} s)`);
    this.resolveConnected();
  }

  /**
   * A failed `initialize()` may leave a pool behind (the primary's pool made,
   * then a later step failed); the next attempt makes a new one.
   */
  private async releaseFailedAttempt(): Promise<void> {
    const driver = this.dataSource.driver as unknown as { master?: unknown; disconnect(): Promise<void> };
    if (!this.dataSource.isInitialized && driver.master) await driver.disconnect().catch(() => undefined);
  }

  private recordFailure(error: unknown): void {
    const code = (error as { code?: unknown } | null | undefined)?.code;
    const hint = typeof code === 'string' ? CONFIGURATION_SQLSTATES[code] : undefined;
    this.lastError = describeConnectError(error);
    if (hint) this.configurationFailures.add(`${this.lastError}: ${hint}`);
    else this.failures.add(this.lastError);
  }
}

/** Retries every failure, forever, with `backoff`; its timers never keep a process alive on their own. */
function connectRetryPolicy(backoff: IBackoffFactory<unknown>): RetryPolicy {
  return retry(handleAll, { maxAttempts: Number.POSITIVE_INFINITY, backoff }).dangerouslyUnref();
}
