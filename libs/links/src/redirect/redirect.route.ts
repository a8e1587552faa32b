import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { setActiveHttpRoute } from '@shortener/observability';
import type { FastifyInstance } from 'fastify';
import { RedirectService } from './redirect.service';

/** The route template of the redirect, also its `route` metric label. */
export const REDIRECT_ROUTE = '/:code';

/**
 * Registers the redirect as a lean route on the Fastify instance
 * (docs/design.md section 2): no guards, interceptors or pipes run for it.
 * Fastify answers HEAD through the GET handler, without a body.
 *
 * It is also outside the Fastify instrumentation (`config.otel: false`):
 * @fastify/otel would wrap the handler and add an onSend hook that ran on
 * every redirect, sampled or not. A sampled redirect's trace is the HTTP
 * server span, named by the route here, with the Redis and PostgreSQL spans
 * of a miss as its children (docs/design.md section 7).
 */
@Injectable()
export class RedirectRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly redirects: RedirectService,
  ) {}

  onModuleInit(): void {
    // Before the HTTP server exists (and in the worker) the host has no adapter, or one of another kind.
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    const fastify = adapter?.getInstance<Partial<FastifyInstance> | undefined>();
    // The worker composes no HTTP server.
    if (!fastify || typeof fastify.route !== 'function') return;
    fastify.route({
      method: 'GET',
      url: REDIRECT_ROUTE,
      config: { otel: false },
      handler: (request, reply) => {
        setActiveHttpRoute(REDIRECT_ROUTE);
        return this.redirects.handle(request, reply);
      },
    });
  }
}
