import type { INestApplicationContext } from '@nestjs/common';
import { DomainError } from '@shortener/common';
import { recordRouteMethods, sendProblem, writeClientErrorProblem } from '@shortener/http';
import type { AppConfig } from '@shortener/config';
import Fastify, { FastifyReply } from 'fastify';
import { HealthService, ProbeResult } from '../health/health.service';
import { MetricsService } from '../metrics/metrics.service';

/** A running management server. */
export interface ManagementServer {
  /** The port it listens on (the OS's pick when configured as 0). */
  port: number;
  /** Stops listening and closes its connections. */
  close(): Promise<void>;
}

/**
 * Starts the management server of a process (docs/design.md section 2) on
 * `config.management.host:port` (API 9464, worker 9465; 0 picks a free port),
 * apart from the public port and never exposed by the Ingress. A bare Fastify
 * instance, so it works for the API and for the worker's application context
 * alike, and its routes are excluded from tracing (`otel: false`):
 *
 * - `GET /metrics`: the process registry; Prometheus text format 0.0.4, or
 *   OpenMetrics 1.0 with exemplars when the `Accept` header prefers
 *   `application/openmetrics-text`. Dependency gauges are refreshed first.
 * - `GET /health/live`, `/health/ready`, `/health/startup`: see {@link HealthService};
 *   200 or 503 with a JSON body.
 * - anything else: 404 with a `not-found` problem (RFC 9457), or 405 with
 *   `Allow` for a path served under other methods, and 431 or 400 problems
 *   for requests Node's parser refuses, like the public port.
 *
 * @param app an initialised (or at least created) Nest app or context that
 *   imports the ObservabilityModule.
 * @throws when the port cannot be bound.
 */
export async function startManagementServer(app: INestApplicationContext, config: Pick<AppConfig, 'management'>): Promise<ManagementServer> {
  const health = app.get(HealthService);
  const metrics = app.get(MetricsService);
  // Refusals are problems here as on the public port: the parser's (431, 400) and a path served under other methods (405 with Allow).
  const server = Fastify({ logger: false, forceCloseConnections: true, clientErrorHandler: writeClientErrorProblem });
  recordRouteMethods(server, {});
  const route = { config: { otel: false } };
  const probe = (reply: FastifyReply, result: ProbeResult) => reply.code(result.httpStatus).header('cache-control', 'no-store').send(result.body);

  server.get('/metrics', route, async (request, reply) => {
    await health.refreshDependencyMetrics();
    const scrape = await metrics.scrape(request.headers.accept);
    return reply.header('content-type', scrape.contentType).header('cache-control', 'no-store').send(scrape.body);
  });
  server.get('/health/live', route, async (_request, reply) => probe(reply, await health.live()));
  server.get('/health/startup', route, async (_request, reply) => probe(reply, await health.startup()));
  server.get('/health/ready', route, async (_request, reply) => probe(reply, await health.ready()));
  server.setNotFoundHandler((request, reply) => {
    sendProblem(request, reply, new DomainError('not-found', `${request.method} ${request.url.split('?')[0]} is not served on the management port`));
  });

  await server.listen({ host: config.management.host, port: config.management.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.management.port;
  return { port, close: () => server.close() };
}
