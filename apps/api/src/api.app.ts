import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { PROBLEM_CONTENT_TYPE, ProblemDetailsFilter, installLoadShedding, problem, recordRouteMethods, sendProblem } from '@shortener/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { AppConfig } from '@shortener/config';
import { REDIRECT_ROUTE } from '@shortener/links';
import { installHttpObservability } from '@shortener/observability';
import { installHttpHardening } from '@shortener/security';
import { ZodValidationPipe } from 'nestjs-zod';
import { ApiModule } from './api.module';
import { serveOpenApi } from './openapi';

// Percent-encoded 64-code-point aliases can take 4 x 3 bytes each.
const ROUTER_OPTIONS = { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 1024 };

/**
 * Builds the API application (not yet listening): Fastify with the HTTP
 * settings of DESIGN.md section 7, problem+json errors, zod validation,
 * the hardening of DESIGN.md section 9 (security headers, CORS, JSON-only
 * bodies) and the OpenAPI document. Used by `main.ts` and by the e2e tests.
 */
export async function createApiApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // proxy-addr semantics: the right-most address not in a trusted range (DESIGN.md section 9).
    // X-Forwarded-For is the one forwarding header honoured, and only from a
    // trusted peer; X-Real-IP and Forwarded never change request.ip.
    trustProxy: config.http.trustedProxies.length > 0 ? config.http.trustedProxies : false,
    bodyLimit: config.http.bodyLimitBytes,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    routerOptions: ROUTER_OPTIONS,
    return503OnClosing: true,
    // No Nest middleware in this app: without @fastify/middie every request skips its onRequest hook.
    skipMiddie: true,
    // Requests Node's HTTP parser refuses (raw non-ASCII in the target, bad
    // headers) get a problem too, not Fastify's ad-hoc JSON.
    clientErrorHandler: writeClientErrorProblem,
    // Errors of Fastify's router (a path with broken percent-encoding) too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => sendProblem(request, reply, error),
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
  const json = fastify.getDefaultJsonParser('error', 'error');
  const jsonOrNothing = (request: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) =>
    body.length === 0 ? done(null, undefined) : json(request, body, done);
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, jsonOrNothing);
  fastify.addContentTypeParser('application/merge-patch+json', { parseAs: 'string' }, jsonOrNothing);
  // Before any route is registered: it attaches the security headers as routes are added.
  await installHttpHardening(app, config);
  serveOpenApi(app);
  return app;
}

// Built once: the parser's refusals are answered before any request object exists.
const CLIENT_ERROR_RESPONSES = {
  headerTooLarge: clientErrorResponse('431 Request Header Fields Too Large', problem('request-header-too-large', 'The request line and headers exceed the server limit')),
  malformed: clientErrorResponse('400 Bad Request', problem('validation-failed', 'The HTTP request is malformed')),
};

function clientErrorResponse(statusLine: string, body: object): string {
  const json = JSON.stringify(body);
  return `HTTP/1.1 ${statusLine}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`;
}

/**
 * Answers a request Node's HTTP parser refused and closes the connection:
 * 431 with a `request-header-too-large` problem when the headers overflow
 * the parser's limit (RFC 6585 section 5), else 400 `validation-failed`.
 * The body's `status` is the response's (RFC 9457 section 3.1.3).
 */
function writeClientErrorProblem(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  socket.end(error.code === 'HPE_HEADER_OVERFLOW' ? CLIENT_ERROR_RESPONSES.headerTooLarge : CLIENT_ERROR_RESPONSES.malformed);
}
