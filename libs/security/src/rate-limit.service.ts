import { Inject, Injectable, Logger } from '@nestjs/common';
import { DomainError } from '@shortener/common';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { MetricsService } from '@shortener/observability';
import { CACHE_REDIS, rateLimitKeyPrefix, RedisRateLimiter } from '@shortener/redis';
import type { FastifyReply } from 'fastify';
import Redis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import {
  formatRateLimit,
  formatRateLimitPolicy,
  QuotaPolicy,
  RATELIMIT_HEADER,
  RATELIMIT_POLICY_HEADER,
  secondsUntilReset,
  ServiceLimit,
} from './ratelimit-headers';

/** Label values of `shortener_rate_limited_total{limiter}`. */
export type LimiterName = 'api_key' | 'client' | 'auth_failure' | 'redirect';

/** What the per-key limit needs of an authenticated caller (the auth lib's `Principal` has it). */
export interface RateLimitedKey {
  keyId: string;
  /** The key's own limit per minute, or null for `RATE_LIMIT_API_PER_MINUTE`. */
  rateLimitPerMinute: number | null;
}

/** The window of every API limit (the configuration is per minute). */
const API_WINDOW_SECONDS = 60;

/** Client addresses one process remembers as refused for failed authentications (the least recently refused go first). */
const AUTH_BLOCKED_MAX_ADDRESSES = 100_000;

/** Policy names as sent in `RateLimit-Policy` / `RateLimit` and in the problem's `violated-policies`. */
export const POLICY_NAMES = { apiKey: 'api-key', client: 'client', authFailures: 'auth-failures', redirect: 'redirect' } as const;

interface Verdict {
  limiter: LimiterName;
  policy: QuotaPolicy;
  res: RateLimiterRes;
  allowed: boolean;
}

/**
 * The API's rate limits (docs/design.md section 9), counted in the cache Redis
 * so that every API process shares them, each with an in-process
 * `RateLimiterMemory` as insurance: while Redis is unreachable (the client
 * has no offline queue, so a command fails at once) each process limits on
 * its own instead of letting everything through or failing requests.
 *
 * - per API key: the key's `rateLimitPerMinute`, else `RATE_LIMIT_API_PER_MINUTE`;
 * - per client address: `RATE_LIMIT_CLIENT_PER_MINUTE` over the API;
 * - per client address on failed authentication: `RATE_LIMIT_AUTH_FAILURES_PER_MINUTE`
 *   failures, after which the address is refused before its key is even looked up,
 *   from the process's memory once it has seen the address over the limit (no Redis
 *   round trip per refused request until the window ends).
 *
 * Windows are fixed, 60 s from the first request of a window. A limit of 0
 * means no limit. Client addresses are {@link clientAddressKey} values (IPv6 by /64).
 * Refusals throw {@link DomainError} `rate-limited` (429) with
 * `retryAfterSeconds` (the `Retry-After` header) and `violated-policies`
 * (draft-ietf-httpapi-ratelimit-headers-10 section 5.1); every answer carries
 * `RateLimit-Policy` and `RateLimit` (see ratelimit-headers.ts); each refusal
 * counts in `shortener_rate_limited_total{limiter}`.
 */
@Injectable()
export class RateLimitService {
  private readonly logger = new Logger(RateLimitService.name);
  private readonly keyLimiters = new Map<number, RateLimiterAbstract>();
  private readonly defaultKeyLimit: number;
  private readonly clientPolicy: QuotaPolicy;
  private readonly clientLimiter: RateLimiterAbstract | null;
  private readonly authPolicy: QuotaPolicy;
  private readonly authLimiter: RateLimiterAbstract | null;
  private readonly authPolicyHeader: string;
  /**
   * Addresses this process found over `RATE_LIMIT_AUTH_FAILURES_PER_MINUTE`,
   * each until its window ends (epoch ms): their requests are refused from
   * memory, so a flood of wrong keys costs no Redis round trip per request.
   */
  private readonly authBlocked = new LRUCache<string, number>({ max: AUTH_BLOCKED_MAX_ADDRESSES });

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CACHE_REDIS) private readonly redis: Redis,
    private readonly metrics: MetricsService,
  ) {
    const limits = config.security.rateLimits;
    this.defaultKeyLimit = limits.apiPerMinute;
    this.clientPolicy = { name: POLICY_NAMES.client, quota: limits.clientPerMinute, windowSeconds: API_WINDOW_SECONDS };
    this.clientLimiter = this.sharedLimiter('client', limits.clientPerMinute);
    this.authPolicy = { name: POLICY_NAMES.authFailures, quota: limits.authFailuresPerMinute, windowSeconds: API_WINDOW_SECONDS };
    this.authLimiter = this.sharedLimiter('auth-failure', limits.authFailuresPerMinute);
    this.authPolicyHeader = formatRateLimitPolicy([this.authPolicy]);
  }

  /**
   * Before a key is looked up: refuses an address that has used up its
   * failed authentications in the current window.
   * @param client the {@link clientAddressKey} of the request
   * @throws DomainError `rate-limited` (429)
   */
  async assertAuthenticationAllowed(reply: FastifyReply, client: string): Promise<void> {
    if (!this.authLimiter) return;
    const blockedUntil = this.authBlocked.get(client);
    const res =
      blockedUntil === undefined
        ? await this.authLimiter.get(client).catch(() => null)
        : new RateLimiterRes(0, Math.max(0, blockedUntil - Date.now()), this.authPolicy.quota);
    if (!res || res.consumedPoints < this.authPolicy.quota) return;
    this.blockAuthentication(client, res);
    const verdict: Verdict = { limiter: 'auth_failure', policy: this.authPolicy, res, allowed: false };
    this.setHeaders(reply, [verdict], this.authPolicyHeader);
    this.refuse([verdict], 'Too many failed authentications from this client address');
  }

  /**
   * After a failed authentication: counts it against the address and
   * reports the remaining failures on the (401) answer.
   * @param client the {@link clientAddressKey} of the request
   */
  async recordAuthenticationFailure(reply: FastifyReply, client: string): Promise<void> {
    if (!this.authLimiter) return;
    const res = await this.authLimiter.penalty(client).catch((e: unknown) => this.failOpen(e));
    if (!res) return;
    if (res.consumedPoints >= this.authPolicy.quota) this.blockAuthentication(client, res);
    this.setHeaders(reply, [{ limiter: 'auth_failure', policy: this.authPolicy, res, allowed: true }], this.authPolicyHeader);
  }

  /** Remembers `client` as refused until the end of the window `res` reports. */
  private blockAuthentication(client: string, res: RateLimiterRes): void {
    if (res.msBeforeNext > 0) this.authBlocked.set(client, Date.now() + res.msBeforeNext, { ttl: res.msBeforeNext });
  }

  /**
   * After authentication: consumes one request from the key's budget and
   * one from the client address's, in parallel, and reports both.
   * @param client the {@link clientAddressKey} of the request
   * @throws DomainError `rate-limited` (429) when either budget is spent
   */
  async consumeApiRequest(reply: FastifyReply, key: RateLimitedKey, client: string): Promise<void> {
    const keyQuota = key.rateLimitPerMinute ?? this.defaultKeyLimit;
    const keyPolicy: QuotaPolicy = { name: POLICY_NAMES.apiKey, quota: keyQuota, windowSeconds: API_WINDOW_SECONDS };
    const keyLimiter = this.keyLimiter(keyQuota);
    const verdicts = (
      await Promise.all([
        keyLimiter ? this.take('api_key', keyPolicy, keyLimiter, key.keyId) : null,
        this.clientLimiter ? this.take('client', this.clientPolicy, this.clientLimiter, client) : null,
      ])
    ).filter((v): v is Verdict => v !== null);
    if (verdicts.length === 0) return;
    this.setHeaders(reply, verdicts, formatRateLimitPolicy(verdicts.map((v) => v.policy)));
    const refused = verdicts.filter((v) => !v.allowed);
    if (refused.length > 0) {
      this.refuse(refused, refused.some((v) => v.limiter === 'api_key') ? 'Too many requests for this API key' : 'Too many requests from this client address');
    }
  }

  private async take(limiter: LimiterName, policy: QuotaPolicy, store: RateLimiterAbstract, key: string): Promise<Verdict | null> {
    try {
      return { limiter, policy, res: await store.consume(key), allowed: true };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { limiter, policy, res: rejection, allowed: false };
      return this.failOpen(rejection);
    }
  }

  // Only reachable if both Redis and the insurance limiter fail (a bug): an
  // API that refuses every request would be worse than one unlimited request.
  private failOpen(error: unknown): null {
    this.logger.error(`rate limiter failed, request let through: ${(error as Error | null | undefined)?.message ?? String(error)}`);
    return null;
  }

  private setHeaders(reply: FastifyReply, verdicts: Verdict[], policyHeader: string): void {
    const limits: ServiceLimit[] = verdicts.map((v) => ({
      policy: v.policy,
      remaining: v.res.remainingPoints,
      resetSeconds: secondsUntilReset(v.res.msBeforeNext),
    }));
    void reply.header(RATELIMIT_POLICY_HEADER, policyHeader).header(RATELIMIT_HEADER, formatRateLimit(limits));
  }

  private refuse(refused: Verdict[], reason: string): never {
    const retryAfterSeconds = Math.max(1, ...refused.map((v) => secondsUntilReset(v.res.msBeforeNext)));
    for (const v of refused) this.metrics.rateLimited.labels(v.limiter).inc();
    throw new DomainError('rate-limited', `${reason}; retry after ${retryAfterSeconds} s`, {
      retryAfterSeconds,
      'violated-policies': refused.map((v) => v.policy.name),
    });
  }

  // Keys with their own limit share the Redis keys of the default limiter
  // (the counter is per key id); only the quota compared against differs.
  private keyLimiter(quota: number): RateLimiterAbstract | null {
    if (quota <= 0) return null;
    let limiter = this.keyLimiters.get(quota);
    if (!limiter) {
      limiter = this.sharedLimiter('api-key', quota)!;
      this.keyLimiters.set(quota, limiter);
    }
    return limiter;
  }

  // rate-limiter-flexible appends `:<subject>`: the keys are REDIS_KEYS.rateLimit keys.
  private sharedLimiter(name: RedisRateLimiter, points: number): RateLimiterAbstract | null {
    if (points <= 0) return null;
    const keyPrefix = rateLimitKeyPrefix(this.config.redis, name);
    const duration = API_WINDOW_SECONDS;
    return new RateLimiterRedis({
      storeClient: this.redis,
      keyPrefix,
      points,
      duration,
      // Straight to the insurance while the client is reconnecting, instead of a failed command first.
      rejectIfRedisNotReady: true,
      // A client over its limit is refused from memory until its window ends: floods cost no Redis round trip.
      inMemoryBlockOnConsumed: points + 1,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration }),
    });
  }
}
