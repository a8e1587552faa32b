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
  /**
   * How the process ends: after a clean shutdown `code` is 0 and `signal` the
   * signal that started it, if any; 1 on a timeout or a failure. By default
   * the signal is raised again with no listener left (as Nest's shutdown hooks
   * do), so the parent sees the process ended by it; `process.exit` otherwise.
   */
  exit?: (code: number, signal?: NodeJS.Signals) => void;
}

/** Handle of an installed graceful shutdown. */
export interface GracefulShutdown {
  /** Starts the shutdown (as `signal` would); resolves once it finished. Idempotent. */
  shutdown(signal?: NodeJS.Signals): Promise<void>;
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
 * Graceful shutdown of an API or worker process (docs/design.md section 7),
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
 *    process ends by the signal that started it (exit code 0 without one).
 *
 * The whole is bounded by `timeoutMs`: past it the process exits 1 (jobs
 * still active are then retried elsewhere once their lock expires).
 */
export function installGracefulShutdown(app: INestApplicationContext, options: GracefulShutdownOptions): GracefulShutdown {
  const lifecycle = app.get(ProcessLifecycle);
  const logger = app.get<Logger>(ROOT_LOGGER);
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const listeners = new Map<NodeJS.Signals, () => void>();
  const exit = options.exit ?? defaultExit(listeners);
  let running: Promise<void> | undefined;

  const run = async (signal: NodeJS.Signals | undefined): Promise<void> => {
    const started = Date.now();
    const deadline = started + options.timeoutMs;
    lifecycle.markDraining();
    logger.info({ signal, timeout_ms: options.timeoutMs }, 'shutdown started: readiness fails from now on');
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
      exit(0, signal);
    } catch (e) {
      logger.error({ err: e }, 'shutdown failed');
      clearTimeout(force);
      exit(1);
    }
  };

  const shutdown = (signal?: NodeJS.Signals): Promise<void> => (running ??= run(signal));
  for (const signal of signals) {
    const listener = (): void => void shutdown(signal);
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
  return { shutdown };
}

/** Ends the process: by re-raising the signal without our listeners (default action), else by exit code. */
function defaultExit(listeners: Map<NodeJS.Signals, () => void>): (code: number, signal?: NodeJS.Signals) => void {
  return (code, signal) => {
    for (const [s, l] of listeners) process.off(s, l);
    if (code === 0 && signal && process.listenerCount(signal) === 0) {
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code);
  };
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
    const open = await new Promise<number>((resolve) =>
      server.getConnections((err, n) => {
        resolve(err ? 0 : n);
      }),
    );
    if (open === 0) return;
    if (performance.now() - lifecycle.lastRequestAt >= QUIET_MS) return;
    if (Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
