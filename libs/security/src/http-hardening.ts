import fastifyHelmet, { FastifyHelmetOptions } from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DomainError } from '@shortener/common';
import { appendRouteHook, isUnderPath, jsonPointer } from '@shortener/http';
import { AppConfig } from '@shortener/config';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preValidationHookHandler, RouteOptions } from 'fastify';

/** First path segment of everything the API serves (REST routes, OpenAPI document, docs UI). */
const API_PREFIX = '/api';
/** The docs UI and its assets (Swagger UI), which need a document-friendly CSP. */
const DOCS_PREFIX = '/api/docs';

/**
 * Headers of JSON responses: nothing may be loaded, framed or submitted, as
 * a JSON body rendered as a document must never run anything.
 */
export const API_HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"], frameAncestors: ["'none'"] },
  },
  frameguard: { action: 'deny' },
};

/**
 * Headers of the Swagger UI at `/api/docs`: its page loads its scripts,
 * styles and images from this origin only (`./docs/*.js`, `./docs/*.css`;
 * the UI's configuration is an external script too, so `script-src 'self'`
 * holds without `'unsafe-inline'`); its page has inline `<style>` blocks and
 * the UI sets inline styles, hence `style-src 'unsafe-inline'`; icons are
 * `data:` images. No `upgrade-insecure-requests`: it would break the UI on a
 * plain-HTTP development server, and HSTS covers HTTPS deployments.
 */
export const DOCS_HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      imgSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
    },
  },
  frameguard: { action: 'deny' },
};

/** Response headers a client may read cross-origin when CORS is on. */
const CORS_EXPOSED_HEADERS = ['location', 'retry-after', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed', 'x-request-id'];
/** Request headers a cross-origin client may send. */
const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'x-request-id'];

/**
 * Hardens the API's HTTP surface (docs/design.md section 9). Call on the app
 * before any route is registered (before the OpenAPI routes and `init()`).
 *
 * - Security headers from @fastify/helmet on every route under `/api`: a
 *   CSP that forbids everything on JSON responses, and one the Swagger UI
 *   works under on `/api/docs` (see {@link DOCS_HELMET_OPTIONS}). The
 *   headers do not vary per request (no CSP nonces), so helmet computes
 *   each set once, at boot, in a private Fastify instance, and the API
 *   routes copy it: registering the plugin on the app would add two
 *   per-request hooks (one async, rebuilding helmet's middleware each time)
 *   to every route. The redirect route gets none: a 3xx has no document to
 *   protect, and its hot path stays free of the work.
 * - CORS only when `CORS_ORIGINS` lists origins (`*` allows any), through
 *   Nest's `enableCors` (@fastify/cors); off otherwise, so browsers refuse
 *   cross-origin reads.
 * - JSON only: the `text/plain` body parser Fastify adds by default is
 *   removed, so a body of any type but `application/json` (and
 *   `application/merge-patch+json`, added by the app) is refused with 415.
 *   The app must be created with `bodyParser: false`, or Nest would add a
 *   form (`application/x-www-form-urlencoded`) parser at `init()`.
 *   Body size is Fastify's `bodyLimit` (`HTTP_BODY_LIMIT_BYTES`): 413 above it.
 * - No U+0000 and no lone surrogate (U+D800-U+DFFF unpaired, e.g. the JSON
 *   escape `\ud800`) in path parameters, query parameters or JSON bodies
 *   (member names and string values) of API routes: PostgreSQL text cannot
 *   hold either (it stores UTF-8), so they would otherwise fail the query
 *   with a 500, or be stored as U+FFFD, wherever a string reaches the
 *   database. Refused with a 400 `validation-failed` problem naming the
 *   member ({@link findNulCharacter}, {@link findLoneSurrogate}). Left to
 *   more precise checks: U+0000 in body members named `url` (the target
 *   policy refuses every control character in a target with its own problem
 *   type, `target-control-character`, CASES C11), and both in body members
 *   named `items` (the bulk create's link schemas refuse them per item, so
 *   one bad item fails alone).
 */
export async function installHttpHardening(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  const apiHeaders = await helmetHeaders(API_HELMET_OPTIONS);
  const docsHeaders = await helmetHeaders(DOCS_HELMET_OPTIONS);
  const sendApiHeaders = copyHeaders(apiHeaders);
  const sendDocsHeaders = copyHeaders(docsHeaders);
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const url = (route.url as string | undefined) ?? '';
    if (!isUnderPath(url, API_PREFIX)) return;
    appendRouteHook(route, 'onRequest', isUnderPath(url, DOCS_PREFIX) ? sendDocsHeaders : sendApiHeaders);
    appendRouteHook(route, 'preValidation', refuseUnstorableText);
  });
  fastify.removeContentTypeParser('text/plain');
  const origins = config.http.corsOrigins;
  if (origins.length > 0) {
    app.enableCors({
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      maxAge: 600,
    });
  }
}

/**
 * The headers @fastify/helmet sets with the given options, captured from
 * one request to a private Fastify instance.
 */
export async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  try {
    await probe.register(fastifyHelmet, options);
    probe.get('/', (_request, reply) => reply.send(''));
    const response = await probe.inject({ method: 'GET', url: '/' });
    const baseline = new Set(['content-type', 'content-length', 'date', 'connection', 'keep-alive']);
    return Object.fromEntries(
      Object.entries(response.headers)
        .filter(([name, value]) => !baseline.has(name) && typeof value === 'string')
        .map(([name, value]) => [name, value as string]),
    );
  } finally {
    await probe.close();
  }
}

function copyHeaders(headers: Record<string, string>): onRequestHookHandler {
  const entries = Object.entries(headers);
  return function securityHeaders(_request: FastifyRequest, reply: FastifyReply, done: () => void) {
    for (const [name, value] of entries) reply.header(name, value);
    done();
  };
}

/**
 * The JSON Pointer (RFC 6901) of the first member name or string value that
 * contains U+0000, or null. Iterative, so any nesting depth the JSON parser
 * accepted is scanned without exhausting the stack.
 *
 * @param skipMembers names of object members whose values are not scanned
 *   (validated more precisely elsewhere)
 */
export function findNulCharacter(value: unknown, skipMembers: ReadonlySet<string> = new Set()): string | null {
  return findString(value, (s) => s.includes('\u0000'), skipMembers);
}

/**
 * The JSON Pointer (RFC 6901) of the first member name or string value that
 * is not well-formed UTF-16: it holds a lone surrogate (a code unit of
 * U+D800-U+DFFF without its pair, which JSON lets a client write as the
 * escape `\ud800`; surrogate pairs are fine). Null when there is none.
 * Iterative, like {@link findNulCharacter}.
 *
 * @param skipMembers names of object members whose values are not scanned
 *   (validated more precisely elsewhere)
 */
export function findLoneSurrogate(value: unknown, skipMembers: ReadonlySet<string> = new Set()): string | null {
  return findString(value, (s) => !s.isWellFormed(), skipMembers);
}

function findString(value: unknown, matches: (s: string) => boolean, skipMembers: ReadonlySet<string>): string | null {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length > 0) {
    const [current, pointer] = stack.pop()!;
    if (typeof current === 'string') {
      if (matches(current)) return pointer || '/';
    } else if (current !== null && typeof current === 'object') {
      for (const [key, member] of Object.entries(current)) {
        const at = `${pointer}${jsonPointer([key])}`;
        if (matches(key)) return at;
        if (!skipMembers.has(key)) stack.push([member, at]);
      }
    }
  }
  return null;
}

// Bulk create items: the link schemas refuse U+0000 and lone surrogates too, per item, so one bad item fails alone.
const BULK_ITEMS = 'items';
// Targets: normalizeTarget refuses control characters with `target-control-character`.
const NUL_CHECKED_ELSEWHERE: ReadonlySet<string> = new Set(['url', BULK_ITEMS]);
const SURROGATES_CHECKED_ELSEWHERE: ReadonlySet<string> = new Set([BULK_ITEMS]);

/** What the hook refuses in request text, in order: a finder, the problem's detail, the body members it leaves to others. */
const TEXT_RULES = [
  { find: findNulCharacter, detail: 'must not contain U+0000', skipInBody: NUL_CHECKED_ELSEWHERE },
  { find: findLoneSurrogate, detail: 'must not contain a lone surrogate (U+D800-U+DFFF)', skipInBody: SURROGATES_CHECKED_ELSEWHERE },
] as const;

const refuseUnstorableText: preValidationHookHandler = function refuseUnstorableText(request, _reply, done) {
  for (const [part, value, inBody] of [
    ['path parameter', request.params, false],
    ['query parameter', request.query, false],
    ['body member', request.body, true],
  ] as const) {
    for (const rule of TEXT_RULES) {
      const pointer = rule.find(value, inBody ? rule.skipInBody : undefined);
      if (pointer !== null) {
        const detail = `${rule.detail} (${part})`;
        done(new DomainError('validation-failed', `${pointer}: ${detail}`, { errors: [{ pointer, detail }] }));
        return;
      }
    }
  }
  done();
};
