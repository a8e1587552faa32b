import { Module } from '@nestjs/common';
import { ObservabilityModule } from '@shortener/observability';
import { RedisModule } from '@shortener/redis';
import { RateLimitService } from './rate-limit.service';
import { RedirectRateLimiter } from './redirect-rate-limiter';

/**
 * Rate limits of the API process: the shared (Redis) API limits used by the
 * API key authentication and the in-process redirect limit used by the
 * redirect.
 */
@Module({
  imports: [ObservabilityModule, RedisModule],
  providers: [RateLimitService, RedirectRateLimiter],
  exports: [RateLimitService, RedirectRateLimiter],
})
export class SecurityModule {}
