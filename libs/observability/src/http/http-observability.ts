import type { INestApplicationContext } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ProcessLifecycle } from '../health/process-lifecycle';
import { ROOT_LOGGER } from '../logging/logger';
import { useJsonLogger } from '../logging/use-json-logger';
import { UNMATCHED_ROUTE } from '../metrics/metric-names';
import { MetricsService } from '../metrics/metrics.service';
import { activeSampledSpanContext } from '../tracing/trace-context';

/** Options of {@link installHttpObservability}. */
export interface HttpObservabilityOptions {
  /**
   * Route templates whose request lines are sampled: logged only when the
   * request is traced, answered 5xx, or at `debug` level. The redirect is
   * one: a line per redirect would cost more than the redirect itself; its
   * metrics count every one.
   */
  sampledLogRoutes?: readonly string[];
}

/** Header carrying the request id, taken from the client or generated, and echoed. */
export const REQUEST_ID_HEADER = 'x-request-id';
// A client's id is kept when it is a plain token: bounded, nothing that could forge a log line.
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

type Observe = (seconds: number) => void;

/**
 * Installs the public HTTP server's observability on a Nest Fastify app (not
 * yet initialised): the Nest logger becomes the pino logger (nestjs-pino), and
 * two Fastify hooks run for every request, the bare redirect route included:
 *
 * - onRequest: takes `x-request-id` (or generates a UUID), stores it as
 *   `request.id` and echoes it; while draining, asks the client to close the
 *   connection after the response (`Connection: close`), so keep-alive
 *   connections end cleanly before the server closes.
 * - onResponse: observes `http_server_request_duration_seconds` (method,
 *   route template or `unmatched`, status code; seconds), with the trace id
 *   as exemplar when the request is traced; writes one JSON line (method,
 *   route, status, duration_ms, request_id, trace_id/span_id when traced).
 */
export function installHttpObservability(
  app: INestApplicationContext & { getHttpAdapter(): { getInstance(): unknown } },
  options: HttpObservabilityOptions = {},
): void {
  useJsonLogger(app);
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  const metrics = app.get(MetricsService);
  const lifecycle = app.get(ProcessLifecycle);
  const logger = app.get<Logger>(ROOT_LOGGER);
  // Request lines have a fixed shape built below (no header, body or key can reach them), so they
  // skip pino's redaction: it re-parses its 18 paths and copies the object on every line (about 12 of
  // a line's 16 us here). Every other line, error lines included, goes through the redacting root.
  const accessLog = logger.child({}, { redact: [] });
  const sampledLogRoutes = new Set(options.sampledLogRoutes ?? []);
  const children = new Map<string, Observe>();

  fastify.addHook('onRequest', function observeRequest(request: FastifyRequest, reply: FastifyReply, done: () => void) {
    const incoming = request.headers[REQUEST_ID_HEADER];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    (request as { id: string }).id = id;
    reply.header(REQUEST_ID_HEADER, id);
    lifecycle.lastRequestAt = performance.now();
    if (lifecycle.draining) reply.header('connection', 'close');
    done();
  });

  fastify.addHook('onResponse', function recordResponse(request: FastifyRequest, reply: FastifyReply, done: () => void) {
    const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
    const method = request.method;
    const status = reply.statusCode;
    const seconds = reply.elapsedTime / 1000;
    const traced = activeSampledSpanContext();
    if (traced) {
      metrics.httpRequestDuration.observe({
        labels: { method, route, status_code: String(status) },
        value: seconds,
        // prom-client types exemplar labels as the metric's own label names; any names are valid.
        exemplarLabels: { trace_id: traced.traceId, span_id: traced.spanId } as unknown as Record<'route', string>,
      });
    } else {
      const key = `${method} ${status} ${route}`;
      let observe = children.get(key);
      if (!observe) {
        const child = metrics.httpRequestDuration.labels(method, route, String(status));
        observe = (s) => {
          child.observe(s);
        };
        children.set(key, observe);
      }
      observe(seconds);
    }
    if (!sampledLogRoutes.has(route) || traced || status >= 500 || logger.isLevelEnabled('debug')) {
      const line = {
        request_id: request.id,
        method,
        route,
        status,
        duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
        ...(traced ? { trace_id: traced.traceId, span_id: traced.spanId } : {}),
      };
      if (status >= 500) accessLog.error(line, 'request failed');
      else accessLog.info(line, 'request completed');
    }
    done();
  });
}
