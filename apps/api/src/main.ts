/**
 * API entry point. Started as
 * `node --require ./dist/libs/observability/src/tracing/register.js dist/apps/api/src/main.js`
 * so tracing loads before any instrumented module.
 *
 * Order: build the app, start the management server (probes answer
 * "starting"), listen on the public port, then mark the process ready.
 * SIGTERM/SIGINT run the graceful shutdown (libs/observability).
 */
import { setHeapGrowingPercent } from '@shortener/common';
import { ConfigError, loadConfig } from '@shortener/config';
import { installGracefulShutdown, ProcessLifecycle, ROOT_LOGGER, startManagementServer } from '@shortener/observability';
import type { Logger } from 'pino';
import { createApiApp } from './api.app';

async function bootstrap(): Promise<void> {
  const config = loadConfig('api');
  setHeapGrowingPercent(config.heapGrowingPercent);
  const app = await createApiApp(config);
  await app.init();
  const management = await startManagementServer(app, config);
  installGracefulShutdown(app, { timeoutMs: config.shutdownTimeoutMs, httpServer: app.getHttpServer(), management });
  await app.listen({ host: config.http.host, port: config.http.port, backlog: config.http.listenBacklog });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  app.get(ProcessLifecycle).markReady();
  app.get<Logger>(ROOT_LOGGER).info({ port, management_port: management.port }, `api listening on ${config.http.host}:${port}`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `api failed to start: ${(error as Error).stack ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
