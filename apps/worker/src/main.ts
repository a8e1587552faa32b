/**
 * Worker entry point. Started as
 * `node --require ./dist/libs/observability/src/tracing/register.js dist/apps/worker/src/main.js`
 * so tracing loads before any instrumented module.
 *
 * SIGTERM/SIGINT close the application: BullMQ workers stop taking jobs and
 * finish their active ones, then connections close (enableShutdownHooks).
 */
import { ConfigError, loadConfig } from '@shortener/config';
import { createWorkerApp } from './worker.app';

async function bootstrap(): Promise<void> {
  const config = loadConfig('worker');
  const app = await createWorkerApp(config);
  app.enableShutdownHooks();
  process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), msg: 'worker started', pid: process.pid })}\n`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `worker failed to start: ${(error as Error).stack ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
