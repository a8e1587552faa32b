import { Global, Module } from '@nestjs/common';
import { RateLimitService } from './rate-limit.service';
import { RedirectRateLimiter } from './redirect-rate-limiter';

/**
 * Rate limits of the API process: the shared (Redis) API limits used by the
 * API key guard and the in-process redirect limit used by the redirect.
 * Global so the auth and links libraries receive them without importing
 * each other's modules; needs the config, Redis and observability modules.
 */
@Global()
@Module({
  providers: [RateLimitService, RedirectRateLimiter],
  exports: [RateLimitService, RedirectRateLimiter],
})
export class SecurityModule {}
