/**
 * API entry point. Started as
 * `node --require ./dist/libs/observability/src/tracing/register.js dist/apps/api/src/main.js`
 * so tracing loads before any instrumented module.
 */
import { ConfigError, loadConfig } from '@shortener/config';
import { createApiApp } from './api.app';

async function bootstrap(): Promise<void> {
  const config = loadConfig('api');
  const app = await createApiApp(config);
  app.enableShutdownHooks();
  await app.listen({ host: config.http.host, port: config.http.port });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: `api listening on ${config.http.host}:${port}`, port })}\n`);
}

bootstrap().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : `api failed to start: ${(error as Error).stack ?? String(error)}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
