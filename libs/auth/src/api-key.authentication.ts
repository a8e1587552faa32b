import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DomainError } from '@shortener/common';
import { appendRouteHook, isUnderPath, sendProblem } from '@shortener/http';
import { clientAddressKey, RateLimitService } from '@shortener/security';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import { ApiKeyService } from './api-key.service';
import { Principal } from './principal';

/** Every route under this path needs an API key (the REST API); the OpenAPI document and docs UI do not. */
export const AUTHENTICATED_PREFIX = '/api/v1';

/** A Fastify request once {@link installApiKeyAuthentication} has authenticated it. */
export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

/**
 * Authenticates `Authorization: Bearer <api key>` (RFC 6750) on every route
 * under {@link AUTHENTICATED_PREFIX}, in Fastify's `onRequest` stage: before
 * any byte of the body is read, so a request without a valid key is answered
 * 401 and its body is never parsed (the lingering close of
 * `installLingeringClose` then ends the connection). In this order:
 *
 * 1. an address that used up its failed authentications is refused (429)
 *    before its key is looked up; a missing, malformed or unknown key counts
 *    as a failure (401);
 * 2. the authenticated request is counted against the key's and the client
 *    address's budgets (429 when either is spent), also when the role check
 *    (the `ApiKeyGuard`, after parsing) then refuses it.
 *
 * The principal is left on `request.principal`. The client address is
 * Fastify's `request.ip` (X-Forwarded-For honoured only through
 * `TRUSTED_PROXIES`), IPv6 grouped by /64 ({@link clientAddressKey}).
 * Refusals are problem+json: `unauthenticated` (401), `rate-limited` (429).
 * Call after `NestFactory.create` and before `init()` (routes are hooked as
 * they are registered).
 */
export function installApiKeyAuthentication(app: NestFastifyApplication): void {
  const keys = app.get(ApiKeyService);
  const limits = app.get(RateLimitService);
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const authenticate: onRequestAsyncHookHandler = async function authenticate(request: AuthenticatedRequest, reply: FastifyReply) {
    try {
      request.principal = await authenticatedPrincipal(request, reply, keys, limits);
    } catch (error) {
      sendProblem(request, reply, error);
      return reply;
    }
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (isUnderPath(route.url, AUTHENTICATED_PREFIX)) appendRouteHook(route, 'onRequest', authenticate);
  });
}

async function authenticatedPrincipal(request: FastifyRequest, reply: FastifyReply, keys: ApiKeyService, limits: RateLimitService): Promise<Principal> {
  const client = clientAddressKey(request.ip);
  await limits.assertAuthenticationAllowed(reply, client);
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    await limits.recordAuthenticationFailure(reply, client);
    throw new DomainError('unauthenticated', 'Send Authorization: Bearer <api key>');
  }
  const principal = await keys.authenticate(match[1]);
  if (!principal) {
    await limits.recordAuthenticationFailure(reply, client);
    throw new DomainError('unauthenticated', 'The API key is invalid or revoked');
  }
  await limits.consumeApiRequest(reply, principal, client);
  return principal;
}
