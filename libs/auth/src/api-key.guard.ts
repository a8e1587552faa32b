import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '@shortener/common';
import { ApiKeyRole } from './api-key.record';
import type { AuthenticatedRequest } from './api-key.authentication';
import { Principal } from './principal';

const ROLES_KEY = 'shortener:roles';

/** Restricts a route to the given roles; without it any authenticated key may call. */
export const Roles = (...roles: ApiKeyRole[]) => SetMetadata(ROLES_KEY, roles);

/** The authenticated {@link Principal} of the request (set by `installApiKeyAuthentication`). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<AuthenticatedRequest & { principal: Principal }>().principal;
});

/**
 * Enforces {@link Roles} on every Nest route. The key itself was verified
 * before the body was read, by the `onRequest` hook of
 * `installApiKeyAuthentication`; a route that hook did not cover has no
 * principal and is refused, so a route can never be served unauthenticated
 * by omission.
 * @throws DomainError `unauthenticated` (401) without a principal, `forbidden` (403) for a role not listed.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    if (!principal) throw new DomainError('unauthenticated', 'Send Authorization: Bearer <api key>');
    const roles = this.reflector.getAllAndOverride<ApiKeyRole[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (roles && !roles.includes(principal.role)) {
      throw new DomainError('forbidden', `This needs one of the roles ${roles.join(', ')}; the key has ${principal.role}`);
    }
    return true;
  }
}
