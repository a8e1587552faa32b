import { DomainError } from '@shortener/common';
import { appendRouteHook, closeTimedOutSocket, isUnderPath, sendProblem } from '@shortener/http';
import { AppConfig } from '@shortener/config';
import type { FastifyInstance, onRequestHookHandler, onSendHookHandler, preParsingHookHandler, RouteOptions } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pipeline, Transform } from 'node:stream';
import type { Logger } from 'pino';

/**
 * Route config (`@RouteConfig(BULK_BODY_ROUTE_CONFIG)` in Nest) of the one
 * route whose body limit is `HTTP_BULK_BODY_LIMIT_BYTES` instead of
 * `HTTP_BODY_LIMIT_BYTES`.
 */
export const BULK_BODY_ROUTE_CONFIG = { bulkBody: true } as const;

/** How long (ms) and how much (bytes) of an unread upload is drained before closing (see {@link installLingeringClose}). */
export const LINGER = { maxMs: 2_000, maxBytes: 1024 * 1024, bytesPerSecond: 2 * 1024 * 1024 } as const;

/**
 * What all lingering connections of the process may still discard: a
 * token bucket refilled at {@link LINGER}'s `bytesPerSecond`, at most that
 * much at once. Discarded bytes are read into Buffers that only garbage
 * collection frees; unbounded, a flood of unauthenticated 4 MB uploads
 * (each answered 401 at once) kept V8's collector threads busier than the
 * requests themselves. A connection that finds the bucket empty stops
 * reading and just waits out the linger time.
 */
const drainBudget = { tokens: LINGER.bytesPerSecond, refilledAt: Date.now() };

function takeDrainBudget(bytes: number): boolean {
  const now = Date.now();
  drainBudget.tokens = Math.min(LINGER.bytesPerSecond, drainBudget.tokens + ((now - drainBudget.refilledAt) * LINGER.bytesPerSecond) / 1_000);
  drainBudget.refilledAt = now;
  if (drainBudget.tokens < bytes) return false;
  drainBudget.tokens -= bytes;
  return true;
}

/** How often Node checks the headers and request timeouts of open connections (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;

/**
 * The Fastify server options that bound each connection's time, from
 * `HTTP_*` settings:
 *
 * - `HTTP_HEADERS_TIMEOUT_MS`: the request line and headers must arrive
 *   within it (Node's `headersTimeout`; answered 408 by the client error
 *   handler), checked every second;
 * - `HTTP_REQUEST_TIMEOUT_MS`: the whole request, body included (Node's
 *   `requestTimeout`);
 * - `HTTP_BODY_TIMEOUT_MS`: the socket's idle timeout while a request is in
 *   flight (Fastify's `connectionTimeout`): no body chunk for that long, or a
 *   response write the client does not take for that long, closes the socket;
 * - `HTTP_KEEP_ALIVE_TIMEOUT_MS`: idle time between requests.
 *
 * Node's header size limit (16 KiB, `--max-http-header-size`) stays as it
 * is; requests over it are answered 431 by `writeClientErrorProblem`.
 */
export function serverTimeoutOptions(config: AppConfig) {
  const { headersTimeoutMs, requestTimeoutMs, bodyTimeoutMs, keepAliveTimeoutMs } = config.http;
  return {
    keepAliveTimeout: keepAliveTimeoutMs,
    connectionTimeout: bodyTimeoutMs,
    requestTimeout: requestTimeoutMs,
    http: { headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
  };
}

/** Least time (ms) between two log lines about refused connections or accept errors. */
const LOG_INTERVAL_MS = 10_000;

/**
 * Caps the public listener's connections and keeps the process alive when
 * it runs out of file descriptors:
 *
 * - `HTTP_MAX_CONNECTIONS`: Node's `server.maxConnections`; connections
 *   beyond it are closed as they are accepted;
 * - `HTTP_MAX_CONNECTIONS_PER_ADDRESS` (0: off): a connection from a peer
 *   address that already holds that many is closed at once, so one client
 *   cannot take every slot (behind a proxy the peer is the proxy);
 * - a socket idle for `HTTP_BODY_TIMEOUT_MS` is closed, with a 408 problem
 *   when its request's answer has not started ({@link closeTimedOutSocket});
 * - an accept that fails (`EMFILE`, `ENFILE`) is logged, at most once per
 *   10 s with a count, instead of being thrown as the server's unhandled
 *   `error` event; libuv keeps accepting once descriptors free up.
 *
 * Call once, on the listening (or about to listen) public server.
 */
export function installConnectionLimits(server: Server, config: AppConfig, logger: Logger): void {
  server.maxConnections = config.http.maxConnections;
  const perAddress = config.http.maxConnectionsPerAddress;
  let refused = 0;
  let acceptErrors = 0;
  let lastLog = 0;
  const report = () => {
    const now = Date.now();
    if (now - lastLog < LOG_INTERVAL_MS) return;
    lastLog = now;
    logger.warn(
      { refused_connections: refused, accept_errors: acceptErrors, max_connections: config.http.maxConnections, max_connections_per_address: perAddress },
      'connections refused: HTTP_MAX_CONNECTIONS or HTTP_MAX_CONNECTIONS_PER_ADDRESS reached, or out of file descriptors',
    );
    refused = 0;
    acceptErrors = 0;
  };
  server.on('timeout', closeTimedOutSocket);
  server.on('drop', () => {
    refused += 1;
    report();
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    // Errors of listen() reach Fastify's own listener; this one keeps accept errors from ending the process.
    if (error.syscall !== 'accept') return;
    acceptErrors += 1;
    report();
  });
  if (perAddress === 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > perAddress) {
      refused += 1;
      report();
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/**
 * Body limits per route: `HTTP_BULK_BODY_LIMIT_BYTES` on routes marked with
 * {@link BULK_BODY_ROUTE_CONFIG}; every other route keeps the server's
 * `bodyLimit` (`HTTP_BODY_LIMIT_BYTES`). Call before routes are registered.
 */
export function installBodyLimits(fastify: FastifyInstance, config: AppConfig): void {
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const routeConfig = route.config as { bulkBody?: boolean; bodyLimitSetting?: string } | undefined;
    if (routeConfig?.bulkBody) {
      const limit = bodyLimitOf(config, true);
      route.bodyLimit = limit.bytes;
      routeConfig.bodyLimitSetting = limit.setting;
    }
  });
}

/**
 * At most `HTTP_BULK_MAX_IN_FLIGHT` requests of the routes marked with
 * {@link BULK_BODY_ROUTE_CONFIG} are received and handled at once per
 * process; one more is answered 503 `overloaded` with `Retry-After: 1`
 * before its body is read. A bulk create at the body limit parses 10 MiB
 * of JSON and writes 1,000 links: a few such requests in parallel would take
 * the process's whole core from the redirects. Call after the API key
 * authentication is installed, so only authenticated requests take a slot.
 */
export function installBulkConcurrencyLimit(fastify: FastifyInstance, config: AppConfig): void {
  const max = config.http.bulkMaxInFlight;
  let inFlight = 0;
  const admitBulk: onRequestHookHandler = function admitBulk(request, reply, done) {
    if (inFlight >= max) {
      sendProblem(
        request,
        reply,
        new DomainError(
          'overloaded',
          `At most ${max} bulk ${max === 1 ? 'request is' : 'requests are'} handled at once per process (HTTP_BULK_MAX_IN_FLIGHT)`,
          { retryAfterSeconds: 1 },
        ),
      );
      return;
    }
    inFlight += 1;
    reply.raw.once('close', () => {
      inFlight -= 1;
    });
    done();
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as { bulkBody?: boolean } | undefined)?.bulkBody) appendRouteHook(route, 'onRequest', admitBulk);
  });
}

/**
 * Reads the bodies of the routes marked with {@link BULK_BODY_ROUTE_CONFIG}
 * at most `HTTP_BULK_BODY_BYTES_PER_SECOND` for the whole process: each chunk
 * is passed on once the time its bytes cost at that rate has passed, and the
 * socket is not read meanwhile (TCP flow control holds the client). A client
 * that sends bulk creates back to back thus gets one 10 MiB bulk every 5 s
 * at the default rate, about a tenth of the core, however fast it sends.
 * Bodies within one second's worth arrive at network speed when nothing else
 * was read just before (the allowance does not accumulate while idle).
 */
export function installBulkBodyPace(fastify: FastifyInstance, config: AppConfig): void {
  const bytesPerMs = config.http.bulkBodyBytesPerSecond / 1000;
  // The instant (performance.now(), ms) up to which the bytes read so far are paid for.
  let paidUntil = 0;
  const pace: preParsingHookHandler = function paceBulkBody(_request, _reply, payload, done) {
    const paced = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        const now = performance.now();
        // A second's worth may be read ahead: small bulks are not slowed down.
        paidUntil = Math.max(paidUntil, now - 1_000) + chunk.length / bytesPerMs;
        const wait = paidUntil - now;
        if (wait <= 0) callback(null, chunk);
        else
          setTimeout(() => {
            callback(null, chunk);
          }, wait);
      },
    }) as Transform & { receivedEncodedLength: number };
    // Fastify compares this with Content-Length (the bytes that came off the socket).
    paced.receivedEncodedLength = 0;
    payload.on('data', (chunk: Buffer) => (paced.receivedEncodedLength += chunk.length));
    pipeline(payload, paced, () => undefined);
    done(null, paced);
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if ((route.config as { bulkBody?: boolean } | undefined)?.bulkBody) appendRouteHook(route, 'preParsing', pace);
  });
}

/**
 * `Expect: 100-continue` (RFC 9110 section 10.1.1) answered only once the
 * request may send its body: Node's server writes `100 Continue` as soon as
 * the headers arrive, which invited a client to upload a body that the key
 * check or the bulk bound was about to refuse. Here the request goes through
 * its `onRequest` hooks first; `100 Continue` is written when its body is
 * about to be read (Fastify's `preParsing`), and a refusal is the final
 * answer instead, without any upload.
 */
export function installExpectContinue(fastify: FastifyInstance): void {
  const server = fastify.server;
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => server.emit('request', request, response));
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    if (request.headers.expect?.toLowerCase() === '100-continue' && !reply.raw.headersSent) reply.raw.writeContinue();
    done(null, payload);
  });
}

/**
 * The body limit in bytes of a route: the bulk limit for routes marked with
 * {@link BULK_BODY_ROUTE_CONFIG}, the general one otherwise, with the name of
 * the setting, for documents and error details.
 */
export function bodyLimitOf(config: AppConfig, bulk: boolean): { bytes: number; setting: string } {
  return bulk
    ? { bytes: config.http.bulkBodyLimitBytes, setting: 'HTTP_BULK_BODY_LIMIT_BYTES' }
    : { bytes: config.http.bodyLimitBytes, setting: 'HTTP_BODY_LIMIT_BYTES' };
}

/**
 * Answers that are sent before the request's body was read (a 401 from the
 * authentication hook, a 413 for a declared length over the limit, any error
 * raised before the body parser finished) end the connection the way nginx's
 * lingering close does, so the client reads the status instead of a reset:
 *
 * 1. the response carries `Connection: close`;
 * 2. the rest of the upload is read and discarded, 1 MiB at most
 *    ({@link LINGER}) and 2 MiB a second for the whole process; after the
 *    response is written the server
 *    half-closes (FIN) and closes once the upload is complete or 2 s have
 *    passed.
 *
 * Installed as an `onSend` hook on the routes whose path starts with one of
 * `prefixes` (the redirect route takes no body and stays without it).
 */
export function installLingeringClose(fastify: FastifyInstance, prefixes: readonly string[]): void {
  const lingerIfUnread: onSendHookHandler = function lingerIfUnread(request, reply, payload, done) {
    if (hasUnreadBody(request.raw)) {
      void reply.header('connection', 'close');
      lingerOnClose(request.raw);
    }
    done(null, payload);
  };
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (prefixes.some((prefix) => isUnderPath(route.url, prefix))) appendRouteHook(route, 'onSend', lingerIfUnread);
  });
}

/**
 * Whether a request declares a body (RFC 9112 section 6.3) that has not been
 * received to its end. `complete` alone does not tell: a request without a
 * body is answered synchronously before Node marks it complete.
 */
function hasUnreadBody(request: IncomingMessage): boolean {
  if (request.complete) return false;
  const { 'transfer-encoding': transferEncoding, 'content-length': contentLength } = request.headers;
  return transferEncoding !== undefined || (contentLength !== undefined && Number(contentLength) > 0);
}

/**
 * Lingering close of `request`'s connection: from now on its unread body is
 * read and discarded, up to {@link LINGER}'s bytes, while the process's
 * drain budget lasts ({@link drainBudget}) (then reading stops, and
 * the client's upload stalls in the kernel's buffers). The socket's
 * `destroySoon` (what Node's HTTP server calls once a `Connection: close`
 * response is written) ends the write side, then destroys the socket when
 * the body is complete or {@link LINGER}'s time has passed.
 */
function lingerOnClose(request: IncomingMessage): void {
  const socket = request.socket as Socket & { lingering?: boolean };
  if (socket.lingering) return;
  socket.lingering = true;
  let drained = 0;
  // A 'data' listener makes the request consumed, so Node does not dump it (a dumped body is read without limit).
  request.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained >= LINGER.maxBytes || !takeDrainBudget(chunk.length)) request.pause();
  });
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    if (this.writable) this.end();
    const close = () => this.destroy();
    const timer = setTimeout(close, LINGER.maxMs).unref();
    this.once('close', () => {
      clearTimeout(timer);
    });
    if (request.complete) close();
    else request.once('end', close);
  };
}

/**
 * Whether a JSON text nests arrays and objects deeper than `maxDepth`,
 * found by one iterative pass over its characters (brackets inside strings
 * do not count) before any tree is built, so a body of a million `[` costs
 * one linear scan and no stack or heap. Does not validate the JSON: the
 * parser that follows does.
 */
export function jsonNestingExceeds(text: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      i = closingQuote(text, i);
      if (i < 0) return false;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return false;
}

/**
 * Index of the quote that closes the JSON string opened at `open`, or -1
 * when the text ends first. Strings are skipped with `indexOf` (most of a
 * large body is string content); a quote preceded by an odd run of
 * backslashes is escaped. Each run is counted once, so the scan stays linear.
 */
function closingQuote(text: string, open: number): number {
  let quote = open;
  for (;;) {
    quote = text.indexOf('"', quote + 1);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
}

/** The error of a body nested deeper than `HTTP_JSON_MAX_DEPTH`. */
export function jsonTooDeep(maxDepth: number): DomainError {
  return new DomainError('json-too-deep', `The body nests arrays and objects deeper than ${maxDepth} levels (HTTP_JSON_MAX_DEPTH)`);
}
