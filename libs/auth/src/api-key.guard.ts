import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '@shortener/common';
import { ApiKeyRole } from '@shortener/database';
import type { FastifyRequest } from 'fastify';
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
 * route and enforces {@link Roles}.
 * @throws DomainError `unauthenticated` (401) or `forbidden` (403).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new DomainError('unauthenticated', 'Send Authorization: Bearer <api key>');
    const principal = await this.keys.authenticate(match[1]);
    if (!principal) throw new DomainError('unauthenticated', 'The API key is invalid or revoked');
    request.principal = principal;
    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(principal.role)) {
      throw new DomainError('forbidden', `This needs one of the roles ${roles.join(', ')}; the key has ${principal.role}`);
    }
    return true;
  }
}
