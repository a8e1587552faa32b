import { Inject, Injectable } from '@nestjs/common';
import { PROBLEM_CONTENT_TYPE, problem } from '@shortener/http';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { MetricsService } from '@shortener/observability';
import type { FastifyReply } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { clientAddressKey } from './client-address';
import { POLICY_NAMES } from './rate-limit.service';
import {
  formatRateLimit,
  formatRateLimitPolicy,
  QuotaPolicy,
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  RETRY_AFTER_HEADER,
  secondsUntilReset,
} from './ratelimit-headers';

const WINDOW_SECONDS = 1;

/**
 * The redirect's per-client-address limit (docs/design.md section 9):
 * `RATE_LIMIT_REDIRECT_PER_SECOND` per {@link clientAddressKey} (IPv6 by
 * /64), counted in this process only (`RateLimiterMemory`), so a redirect
 * never waits on the network for it. With N API processes a client gets up
 * to N times the limit; the point is to stop one client from monopolising a
 * process, not to meter it exactly. 0 disables the limit (no per-request cost).
 *
 * Only refused redirects carry the rate-limit fields (429 with
 * `Retry-After`, `RateLimit-Policy`, `RateLimit`): on a 3xx they would cost
 * the hot path and could make a client delay following the redirect
 * (draft-ietf-httpapi-ratelimit-headers-10 section 6).
 */
@Injectable()
export class RedirectRateLimiter {
  private readonly limiter: RateLimiterMemory | null;
  private readonly policyHeader: string;
  private readonly body = JSON.stringify(
    problem('rate-limited', 'Too many redirects requested from this client address', { 'violated-policies': [POLICY_NAMES.redirect] }),
  );
  private readonly refusals;
  private readonly policy: QuotaPolicy;

  constructor(@Inject(APP_CONFIG) config: AppConfig, metrics: MetricsService) {
    const points = config.security.rateLimits.redirectPerSecond;
    this.limiter = points > 0 ? new RateLimiterMemory({ keyPrefix: 'redirect', points, duration: WINDOW_SECONDS }) : null;
    this.policy = { name: POLICY_NAMES.redirect, quota: points, windowSeconds: WINDOW_SECONDS };
    this.policyHeader = formatRateLimitPolicy([this.policy]);
    this.refusals = metrics.rateLimited.labels('redirect');
  }

  /**
   * Counts a redirect request of `ip` (Fastify's `request.ip`).
   * @returns null when the limit is disabled; else a promise, never rejected,
   *   of null (go ahead) or the limiter's answer (refuse it with {@link refuse}).
   */
  admit(ip: string): Promise<RateLimiterRes | null> | null {
    if (this.limiter === null) return null;
    return this.limiter.consume(clientAddressKey(ip)).then(
      () => null,
      (rejection: unknown) => (rejection instanceof RateLimiterRes ? rejection : null),
    );
  }

  /** Answers 429 problem+json with `Retry-After` and the rate-limit fields; counts the refusal. */
  refuse(reply: FastifyReply, res: RateLimiterRes): void {
    this.refusals.inc();
    const seconds = Math.max(1, secondsUntilReset(res.msBeforeNext));
    void reply
      .code(429)
      .header('cache-control', 'private, no-store')
      .header(RETRY_AFTER_HEADER, String(seconds))
      .header(RATELIMIT_POLICY_HEADER, this.policyHeader)
      .header(RATELIMIT_HEADER, formatRateLimit([{ policy: this.policy, remaining: 0, resetSeconds: seconds }]))
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(this.body);
  }
}
