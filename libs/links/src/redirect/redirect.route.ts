import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { RedirectService } from './redirect.service';

/** The route template of the redirect, also its `route` metric label. */
export const REDIRECT_ROUTE = '/:code';

/**
 * Registers the redirect as a lean route on the Fastify instance
 * (DESIGN.md section 2): no guards, interceptors or pipes run for it.
 * Fastify answers HEAD through the GET handler, without a body.
 */
@Injectable()
export class RedirectRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly redirects: RedirectService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    // The worker composes no HTTP server.
    if (!fastify || typeof fastify.route !== 'function') return;
    fastify.route({ method: 'GET', url: REDIRECT_ROUTE, handler: (request, reply) => this.redirects.handle(request, reply) });
  }
}
