import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DomainError } from '@shortener/common';
import { ProblemDetailsFilter, installLoadShedding, installRequestDeadline, recordRouteMethods, sendProblem, writeClientErrorProblem } from '@shortener/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '@shortener/config';
import { installApiKeyAuthentication } from '@shortener/auth';
import { REDIRECT_ROUTE } from '@shortener/links';
import { installHttpObservability, ROOT_LOGGER } from '@shortener/observability';
import {
  installBodyLimits,
  installBulkBodyPace,
  installBulkConcurrencyLimit,
  installExpectContinue,
  installConnectionLimits,
  installHttpHardening,
  installLingeringClose,
  jsonNestingExceeds,
  jsonTooDeep,
  serverTimeoutOptions,
} from '@shortener/security';
import type { Logger } from 'pino';
import { ZodValidationPipe } from 'nestjs-zod';
import { ApiModule } from './api.module';
import { serveOpenApi } from './openapi';

const FORBIDDEN_KEYS = 'Object keys named "__proto__", and "constructor" holding "prototype", are not accepted';

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// Percent-encoded 64-code-point aliases can take 4 x 3 bytes each.
const ROUTER_OPTIONS = { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 };

/**
 * Builds the API application (not yet listening): Fastify with the HTTP
 * settings (timeouts, connection caps, body limits per route, JSON nesting
 * cap), problem+json errors, zod validation, API keys verified before any
 * body is read, the hardening (security headers, CORS, JSON-only bodies,
 * lingering close of answers sent before the body was read) and the
 * OpenAPI document. Used by `main.ts` and by the e2e tests.
 */
export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // proxy-addr semantics: the right-most address not in a trusted range.
    // X-Forwarded-For is the one forwarding header honoured, and only from a
    // trusted peer; X-Real-IP and Forwarded never change request.ip.
    trustProxy: config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
    bodyLimit: config.http.bodyLimitBytes,
    ...serverTimeoutOptions(config),
    routerOptions: ROUTER_OPTIONS,
    return503OnClosing: true,
    // No Nest middleware in this app: without @fastify/middie every request skips its onRequest hook.
    skipMiddie: true,
    // Requests Node's HTTP parser refuses (raw non-ASCII in the target, bad
    // headers) get a problem too, not Fastify's ad-hoc JSON.
    clientErrorHandler: writeClientErrorProblem,
    // Errors of Fastify's router (a path with broken percent-encoding) too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      sendProblem(request, reply, error);
    },
    logger: false,
  } as ConstructorParameters<typeof FastifyAdapter>[0]);
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config), adapter, {
    logger: config.logLevel === 'silent' ? false : ['error', 'warn', 'log'],
    abortOnError: false,
    // Held until installHttpObservability hands Nest the JSON (pino) logger.
    bufferLogs: true,
    // Nest would add a form (urlencoded) parser; the API takes JSON only (see installHttpHardening).
    bodyParser: false,
  });
  installHttpObservability(app, { sampledLogRoutes: [REDIRECT_ROUTE] });
  await installLoadShedding(app, config.http.maxEventLoopDelayMs);
  app.useGlobalFilters(new ProblemDetailsFilter());
  app.useGlobalPipes(new ZodValidationPipe());
  const fastify = app.getHttpAdapter().getInstance();
  // Before any route is registered: 405 with Allow needs every route's methods.
  recordRouteMethods(fastify, ROUTER_OPTIONS);
  // JSON and JSON Merge Patch documents (RFC 7396). An empty body is no body
  // (a DELETE sent with a Content-Type header), not malformed JSON; routes
  // that need a body refuse its absence through validation.
  // Keys that could pollute prototypes are refused ('error'); Fastify reports
  // that as invalid JSON, so valid JSON refused for them gets its own detail.
  const json = fastify.getDefaultJsonParser('error', 'error');
  // Nesting is checked on the text, before JSON.parse builds a tree.
  const maxDepth = config.http.jsonMaxDepth;
  const jsonOrNothing = (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => {
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    if (jsonNestingExceeds(body, maxDepth)) {
      done(jsonTooDeep(maxDepth));
      return;
    }
    // The default parser in its callback form: it answers through `done` and returns nothing to await.
    void json(request, body, (err, value) => {
      if (err && isJson(body)) done(new DomainError('validation-failed', FORBIDDEN_KEYS));
      else done(err, value);
    });
  };
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, jsonOrNothing);
  fastify.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, jsonOrNothing);
  installConnectionLimits(app.getHttpServer(), config, app.get<Logger>(ROOT_LOGGER));
  // Before any route is registered: these hook routes as they are added.
  installBodyLimits(fastify, config);
  installLingeringClose(fastify, ['/api']);
  installExpectContinue(fastify);
  await installHttpHardening(app, config);
  // After the hardening, so a 401 carries the security headers.
  installApiKeyAuthentication(app);
  // After the authentication: only authenticated requests take a bulk slot.
  installBulkConcurrencyLimit(fastify, config);
  installBulkBodyPace(fastify, config);
  installRequestDeadline(fastify, config.http.requestDeadlineMs);
  serveOpenApi(app);
  return app;
}
