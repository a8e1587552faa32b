import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { allowedMethods } from './method-not-allowed';
import { PROBLEM_CONTENT_TYPE, problem, toProblem } from './problem';
import { DeadlineExceededError } from '@shortener/common';
import { deadlineOf } from './request-deadline';

/**
 * Renders every error of a Nest route as RFC 9457 problem+json (one table:
 * {@link PROBLEM_TYPES}); 500s are logged with their stack, never shown
 * (503s are expected answers, counted by the HTTP metrics).
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetails');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    sendProblem(ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>(), exception, this.logger);
  }
}

/**
 * Sends the problem of an error; shared by the Nest filter and Fastify's own
 * error handler. A request that matched no route, at a path other methods
 * are served on, gets 405 `method-not-allowed` with `Allow` (RFC 9110
 * section 15.5.6) instead of 404 (see {@link allowedMethods}). A 413 names
 * the route's body limit in bytes (`limitBytes`) and its setting (the
 * route config's `bodyLimitSetting`, else `HTTP_BODY_LIMIT_BYTES`). A
 * server-side failure of a request whose deadline has passed (a cancelled
 * statement, an abandoned pool wait) is 503 `deadline-exceeded`.
 */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, exception: unknown, logger?: Logger): void {
  let body = toProblem(exception);
  const deadline = deadlineOf(request);
  if (body.status >= 500 && deadline?.expired) body = toProblem(new DeadlineExceededError(deadline.budgetMs));
  if (body.status === 404 && request.is404) {
    const allow = allowedMethods(request);
    if (allow.length > 0) {
      void reply.header('allow', allow.join(', '));
      body = problem('method-not-allowed', `${request.method} is not served at this path; allowed: ${allow.join(', ')}`);
    }
  }
  if (body.status === 413) {
    // The route's own limit: the bulk create has a larger one than the rest.
    const limit = request.routeOptions.bodyLimit;
    const setting = (request.routeOptions.config as { bodyLimitSetting?: string } | undefined)?.bodyLimitSetting ?? 'HTTP_BODY_LIMIT_BYTES';
    body = problem('payload-too-large', `The body is larger than ${limit} bytes (${setting})`, { limitBytes: limit });
  }
  if (body.status === 500) {
    logger?.error(`${request.method} ${request.url}: ${(exception as Error | null | undefined)?.stack ?? String(exception)}`);
  }
  // RFC 9110 section 11.6.1 and RFC 6750 section 3: a 401 names the scheme to use.
  if (body.status === 401) void reply.header('www-authenticate', 'Bearer realm="shortener"');
  const retryAfter = body.retryAfterSeconds;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  void reply.status(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}
