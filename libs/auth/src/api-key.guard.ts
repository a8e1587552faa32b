import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '@shortener/common';
import { ApiKeyRole } from '@shortener/database';
import { clientAddressKey, RateLimitService } from '@shortener/security';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiKeyService } from './api-key.service';
import { Principal } from './principal';

const ROLES_KEY = 'shortener:roles';

/** Restricts a route to the given roles; without it any authenticated key may call. */
export const Roles = (...roles: ApiKeyRole[]) => SetMetadata(ROLES_KEY, roles);

/** The authenticated {@link Principal} of the request (set by {@link ApiKeyGuard}). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return (ctx.switchToHttp().getRequest<FastifyRequest & { principal: Principal }>()).principal;
});

/**
 * Authenticates `Authorization: Bearer <api key>` (RFC 6750) on every API
 * route, applies the API rate limits and enforces {@link Roles}, in this
 * order (so the limits run after authentication by construction, not by
 * the registration order of global guards):
 *
 * 1. an address that used up its failed authentications is refused (429)
 *    before its key is looked up; a missing, malformed or unknown key counts
 *    as a failure (401);
 * 2. the authenticated request is counted against the key's and the client
 *    address's budgets (429 when either is spent), also when the role check
 *    then refuses it;
 * 3. roles (403).
 *
 * The client address is Fastify's `request.ip` (X-Forwarded-For honoured
 * only through `TRUSTED_PROXIES`), IPv6 grouped by /64 ({@link clientAddressKey}).
 * @throws DomainError `unauthenticated` (401), `rate-limited` (429) or `forbidden` (403).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly reflector: Reflector,
    private readonly limits: RateLimitService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const client = clientAddressKey(request.ip);
    await this.limits.assertAuthenticationAllowed(reply, client);
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) {
      await this.limits.recordAuthenticationFailure(reply, client);
      throw new DomainError('unauthenticated', 'Send Authorization: Bearer <api key>');
    }
    const principal = await this.keys.authenticate(match[1]);
    if (!principal) {
      await this.limits.recordAuthenticationFailure(reply, client);
      throw new DomainError('unauthenticated', 'The API key is invalid or revoked');
    }
    request.principal = principal;
    await this.limits.consumeApiRequest(reply, principal, client);
    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(principal.role)) {
      throw new DomainError('forbidden', `This needs one of the roles ${roles.join(', ')}; the key has ${principal.role}`);
    }
    return true;
  }
}
