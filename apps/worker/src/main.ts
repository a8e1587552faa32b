/**
 * Worker entry point. Started as
 * `node --require ./dist/libs/observability/src/tracing/register.js dist/apps/worker/src/main.js`
 * so tracing loads before any instrumented module.
 *
 * Order: build the app, start the management server (9465: /metrics,
 * /health/*), then mark the process ready. Its BullMQ workers start taking
 * jobs once PostgreSQL is connected and the queue Redis answers ("worker
 * taking jobs"); until then readiness fails naming what is missing.
 * SIGTERM/SIGINT run the graceful shutdown (libs/observability): readiness
 * fails at once, BullMQ workers stop taking jobs and finish their active ones,
 * connections close, all within SHUTDOWN_TIMEOUT_MS; the process then ends by
 * the signal.
 */
import { setHeapGrowingPercent } from '@shortener/common';
import { ConfigError, loadConfig } from '@shortener/config';
import { installGracefulShutdown, ProcessLifecycle, startManagementServer, useJsonLogger } from '@shortener/observability';
import { QueueWorkersService } from '@shortener/queue';
import { createWorkerApp } from './worker.app';

async function bootstrap(): Promise<void> {
  const config = loadConfig('worker');
  setHeapGrowingPercent(config.heapGrowingPercent);
  const app = await createWorkerApp(config);
  useJsonLogger(app);
  const management = await startManagementServer(app, config);
  installGracefulShutdown(app, { timeoutMs: config.shutdownTimeoutMs, management });
  app.get(ProcessLifecycle).markReady();
  const line = (msg: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), msg, pid: process.pid, ...fields })}\n`);
  line('worker started', { management_port: management.port });
  void app.get(QueueWorkersService).started.then(() => line('worker taking jobs'));
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `worker failed to start: ${(error as Error).stack ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
