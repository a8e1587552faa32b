import { Inject, Injectable, Logger } from '@nestjs/common';
import { BatchQueueFullError, Clock } from '@shortener/common';
import { PROBLEM_CONTENT_TYPE, problem, toProblem } from '@shortener/http';
import { APP_CONFIG, AppConfig } from '@shortener/config';
import { CounterChild, deferredCounterChild, LogSummary, MetricsService, sampledTraceparent } from '@shortener/observability';
import { RedirectRateLimiter } from '@shortener/security';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ShortDomains } from '../application/short-domains';
import { BlocklistService } from '../blocklist/blocklist.service';
import { appendForwardedQuery } from '../domain/redirect-location';
import { ClickRecorder } from './click-recorder';
import { CacheLayer, CacheLookup, LinkCacheService } from './link-cache.service';
import { isPreviewBot } from './preview-bots';
import { RedirectSnapshot } from './redirect-snapshot';
import { VisitorHasher } from './visitor-hash';
import { LinkRepository } from '../application/link.repository';

/** Outcome label of `shortener_redirects_total`. */
export type RedirectOutcome = 'redirect' | 'not_found' | 'gone' | 'rate_limited' | 'overloaded' | 'error';

// Bodies are built once: the hot path sends constant strings.
const NOT_FOUND_BODY = JSON.stringify(problem('link-not-found', 'No link with this code'));
const INTERNAL_BODY = JSON.stringify(problem('internal', 'The redirect could not be resolved; retry later'));
const GONE_BODY = JSON.stringify(problem('link-gone', 'This link has expired, was disabled or deleted, or reached its click limit'));
const NO_STORE = 'private, no-store';
const NON_ASCII = /[^\x00-\x7f]/;
const REFERRER_HOST = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^/?#@]*@)?(\[[^\]/?#]*\]|[^/?#:]*)/;
const COUNTRY = /^[A-Za-z]{2}$/;

/**
 * The public redirect, `GET`/`HEAD /{code}` (docs/design.md sections 3 and 5).
 * Runs on the bare Fastify route, outside Nest's per-request pipeline.
 *
 * - 404 for an unknown code; 410 for expired (inclusive of the instant, pod
 *   clock), disabled, deleted or exhausted links; never a redirect then.
 * - 3xx with the link's status; `Location` is the stored target plus the
 *   request's raw query unless the link opts out.
 * - `Cache-Control: private, no-store` on non-permanent redirects; permanent
 *   ones `max-age` bounded by configuration and by the link's expiry.
 * - Max clicks: every GET consumes one in PostgreSQL, except link-preview
 *   bots; HEAD never consumes and is never counted.
 * - 429 past `RATE_LIMIT_REDIRECT_PER_SECOND` per client address, counted
 *   in-process ({@link RedirectRateLimiter}); 410 for a link whose target host
 *   is on the blocklist, checked in memory ({@link BlocklistService}): neither
 *   adds a network round trip.
 * - 503 `overloaded` with `Retry-After: 1`, at once, when the lookup needs
 *   PostgreSQL and `REDIRECT_DB_MAX_QUEUED` lookups already wait for it
 *   (links Redis holds are answered meanwhile: {@link LinkCacheService}); 500
 *   when PostgreSQL fails. Both are logged as a summary, one line per 10 s.
 * - No security headers (helmet) and no rate-limit fields on 3xx: a redirect
 *   has no document to protect, and the hot path stays lean.
 */
@Injectable()
export class RedirectService {
  private readonly outcomes = new Map<string, CounterChild>();
  private readonly logger = new Logger(RedirectService.name);
  private readonly failures = new LogSummary(this.logger, 'redirect failed', 10_000);
  private readonly overloads = new LogSummary(this.logger, 'redirect refused', 10_000);
  private readonly overloadedBody: string;
  private readonly maxAge: number;
  private readonly visitors: VisitorHasher;
  private readonly countryHeader?: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly cache: LinkCacheService,
    private readonly domains: ShortDomains,
    private readonly links: LinkRepository,
    private readonly clicks: ClickRecorder,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
    private readonly limiter: RedirectRateLimiter,
    private readonly blocklist: BlocklistService,
  ) {
    this.maxAge = config.links.permanentRedirectMaxAgeSeconds;
    this.visitors = new VisitorHasher(config.clicks.ipSalt);
    this.countryHeader = config.clicks.countryHeader;
    this.overloadedBody = JSON.stringify(
      problem(
        'overloaded',
        `${config.links.redirectDbMaxQueued} redirect lookups are already waiting for the database in this process (REDIRECT_DB_MAX_QUEUED); retry later`,
        {
          retryAfterSeconds: 1,
        },
      ),
    );
  }

  /** Fastify handler of `GET /:code` (Fastify answers HEAD through it without a body). */
  handle(request: FastifyRequest, reply: FastifyReply): Promise<void> | void {
    const admitted = this.limiter.admit(request.ip);
    if (admitted === null) return this.guard(reply, this.serve(request, reply));
    return this.guard(
      reply,
      admitted.then((refused) => {
        if (refused === null) return this.serve(request, reply);
        this.count('rate_limited', 'none');
        this.limiter.refuse(reply, refused);
      }),
    );
  }

  /**
   * A lookup refused by the PostgreSQL bulkhead is a counted 503 `overloaded`;
   * one PostgreSQL failed while the link was in no cache (unreachable, out of
   * connections, a statement timeout) a counted 503 `dependency-unavailable`,
   * both with `Retry-After`; anything else a counted 500.
   */
  private guard(reply: FastifyReply, outcome: Promise<void> | void): Promise<void> | void {
    if (!outcome) return outcome;
    return outcome.catch((error: unknown) => {
      if (error instanceof BatchQueueFullError) {
        this.count('overloaded', 'none');
        this.overloads.add(error.message);
        void reply
          .code(503)
          .header('retry-after', '1')
          .header('cache-control', NO_STORE)
          .header('content-type', PROBLEM_CONTENT_TYPE)
          .send(this.overloadedBody);
        return;
      }
      this.count('error', 'none');
      this.failures.add((error as Error | null | undefined)?.message ?? String(error));
      const body = toProblem(error);
      if (body.status === 503) {
        void reply
          .code(503)
          .header('retry-after', String(typeof body.retryAfterSeconds === 'number' ? body.retryAfterSeconds : 1))
          .header('cache-control', NO_STORE)
          .header('content-type', PROBLEM_CONTENT_TYPE)
          .send(JSON.stringify(body));
        return;
      }
      void reply.code(500).header('cache-control', NO_STORE).header('content-type', PROBLEM_CONTENT_TYPE).send(INTERNAL_BODY);
    });
  }

  private serve(request: FastifyRequest, reply: FastifyReply): Promise<void> | void {
    let code = (request.params as { code: string }).code;
    if (NON_ASCII.test(code)) code = code.normalize('NFC');
    // PostgreSQL text cannot hold U+0000: no code has it, and looking one up would fail.
    if (code.includes('\u0000')) {
      this.refuse(reply, 404, 'not_found', 'none');
      return;
    }
    const domain = this.domains.forRequestHost(request.hostname).host;
    const lookup = this.cache.get(domain, code);
    if ('then' in lookup) return lookup.then((l: CacheLookup) => this.respond(request, reply, l.snapshot, l.layer));
    return this.respond(request, reply, lookup.snapshot, lookup.layer);
  }

  private respond(request: FastifyRequest, reply: FastifyReply, link: RedirectSnapshot | null, layer: CacheLayer): Promise<void> | void {
    if (link === null) {
      this.refuse(reply, 404, 'not_found', layer);
      return;
    }
    const now = this.clock.now();
    if (link.unavailable || (link.expiresAt !== null && now >= link.expiresAt)) {
      this.refuse(reply, 410, 'gone', layer);
      return;
    }
    if (this.blocklist.blocksRedirect(link)) {
      this.refuse(reply, 410, 'gone', layer);
      return;
    }
    if (!link.limited) {
      this.redirect(request, reply, link, layer, now);
      return;
    }
    const consumes = request.method === 'GET' && !isPreviewBot(request.headers['user-agent']);
    return (consumes ? this.links.consumeClick(link.id) : this.links.hasClicksLeft(link.id)).then((served) => {
      if (!served) {
        this.refuse(reply, 410, 'gone', 'db');
        return;
      }
      this.redirect(request, reply, link, layer, now);
    });
  }

  private redirect(request: FastifyRequest, reply: FastifyReply, link: RedirectSnapshot, layer: CacheLayer, now: number): void {
    const url = request.url;
    const q = url.indexOf('?');
    const location = link.forwardQuery && q !== -1 && q < url.length - 1 ? appendForwardedQuery(link.target, url.slice(q + 1)) : link.target;
    const permanent = link.redirectType === 301 || link.redirectType === 308;
    let cacheControl = NO_STORE;
    if (permanent && !link.limited) {
      const untilExpiry = link.expiresAt === null ? this.maxAge : Math.floor((link.expiresAt - now) / 1000);
      cacheControl = `public, max-age=${Math.max(0, Math.min(this.maxAge, untilExpiry))}`;
    }
    this.count('redirect', layer);
    if (request.method === 'GET') this.recordClick(request, link, now);
    void reply.code(link.redirectType).header('location', location).header('cache-control', cacheControl).send();
  }

  private refuse(reply: FastifyReply, status: 404 | 410, outcome: RedirectOutcome, layer: CacheLayer | 'none'): void {
    this.count(outcome, layer);
    void reply
      .code(status)
      .header('cache-control', NO_STORE)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .send(status === 404 ? NOT_FOUND_BODY : GONE_BODY);
  }

  private recordClick(request: FastifyRequest, link: RedirectSnapshot, now: number): void {
    const headers = request.headers;
    const referer = headers.referer;
    const m = typeof referer === 'string' ? REFERRER_HOST.exec(referer) : null;
    const country = this.countryHeader ? headers[this.countryHeader] : undefined;
    this.clicks.record({
      linkId: link.id,
      at: now,
      referrerHost: m?.[1] ? m[1].toLowerCase() : null,
      userAgent: typeof headers['user-agent'] === 'string' ? headers['user-agent'] : null,
      visitorHash: this.visitors.hash(request.ip),
      country: typeof country === 'string' && COUNTRY.test(country) ? country.toUpperCase() : null,
      // Sampled redirects only (undefined otherwise): the worker's batch span links to them.
      traceparent: sampledTraceparent(),
    });
  }

  private count(outcome: RedirectOutcome, layer: CacheLayer | 'none'): void {
    const key = `${outcome}|${layer}`;
    let child = this.outcomes.get(key);
    if (!child) {
      child = deferredCounterChild(this.metrics.redirects, { outcome, cache: layer });
      this.outcomes.set(key, child);
    }
    child.inc();
  }
}
