import type { INestApplicationContext } from '@nestjs/common';
import { Server } from 'node:net';
import type { Logger } from 'pino';
import { ProcessLifecycle } from '../health/process-lifecycle';
import { ROOT_LOGGER } from '../logging/logger';
import type { ManagementServer } from '../management/management-server';
import { shutdownTracing } from '../tracing/tracing-shutdown';

/** Options of {@link installGracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** Upper bound of the whole shutdown in milliseconds (`SHUTDOWN_TIMEOUT_MS`); the process is forced out after it. */
  timeoutMs: number;
  /** The public HTTP server to drain (the API); none for the worker. */
  httpServer?: Server;
  /** Closed last, so liveness and scrapes keep answering while draining. */
  management?: ManagementServer;
  /** Signals that start the shutdown; SIGTERM (kubelet) and SIGINT (a terminal) by default. */
  signals?: NodeJS.Signals[];
  /** How the process ends; `process.exit` by default (tests pass a spy). */
  exit?: (code: number) => void;
}

/** Handle of an installed graceful shutdown. */
export interface GracefulShutdown {
  /** Starts the shutdown (as a signal would); resolves once it finished. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

/**
 * The public server counts as quiet when no request arrived for this long
 * (milliseconds) and connections are still open: those are idle keep-alive
 * connections, closed next. Short, because the pod's preStop hook already
 * waited for endpoints to stop routing to it before SIGTERM.
 */
export const QUIET_MS = 250;
const POLL_MS = 10;

/**
 * Graceful shutdown of an API or worker process (DESIGN.md section 7),
 * started by SIGTERM or SIGINT:
 *
 * 1. readiness turns 503 at once (`shortener_ready` 0) and every response
 *    from now on carries `Connection: close`;
 * 2. (API) the public server stops accepting connections; open ones end
 *    after their current response; waits until none is left or only idle
 *    ones stay ({@link QUIET_MS} without a request);
 * 3. `app.close()`: Nest's shutdown hooks in order: the HTTP server closes
 *    (in-flight requests finish), the click buffer flushes, BullMQ workers
 *    finish their active jobs, PostgreSQL and Redis connections close;
 * 4. the tracing SDK flushes its spans, the management server closes, and the
 *    process exits 0.
 *
 * The whole is bounded by `timeoutMs`: past it the process exits 1 (jobs
 * still active are then retried elsewhere once their lock expires).
 */
export function installGracefulShutdown(app: INestApplicationContext, options: GracefulShutdownOptions): GracefulShutdown {
  const lifecycle = app.get(ProcessLifecycle);
  const logger = app.get<Logger>(ROOT_LOGGER);
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<void> | undefined;

  const run = async (reason: string): Promise<void> => {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    lifecycle.markDraining();
    logger.info({ reason, timeout_ms: options.timeoutMs }, 'shutdown started: readiness fails from now on');
    const force = setTimeout(() => {
      logger.error({ timeout_ms: options.timeoutMs }, 'shutdown timed out: forcing exit');
      exit(1);
    }, options.timeoutMs);
    force.unref();
    try {
      if (options.httpServer) await drainHttpServer(options.httpServer, lifecycle, deadline);
      await app.close();
      await shutdownTracing();
      await options.management?.close();
      logger.info({ duration_ms: Date.now() - started }, 'shutdown complete');
      clearTimeout(force);
      exit(0);
    } catch (e) {
      logger.error({ err: e }, 'shutdown failed');
      clearTimeout(force);
      exit(1);
    }
  };

  const shutdown = (reason: string): Promise<void> => (running ??= run(reason));
  for (const signal of options.signals ?? ['SIGTERM', 'SIGINT']) process.once(signal, () => void shutdown(signal));
  return { shutdown };
}

/**
 * Stops accepting connections, then waits until the open ones are gone or
 * quiet, or the deadline passes. Uses `net.Server#close` directly: Node's
 * `http.Server#close` would also drop idle keep-alive connections at once,
 * racing a client that is sending its next request on one of them.
 */
async function drainHttpServer(server: Server, lifecycle: ProcessLifecycle, deadline: number): Promise<void> {
  if (server.listening) Server.prototype.close.call(server);
  for (;;) {
    const open = await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
    if (open === 0) return;
    if (performance.now() - lifecycle.lastRequestAt >= QUIET_MS) return;
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
