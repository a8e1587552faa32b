import { STATUS_CODES as HTTP_REASONS } from 'node:http';
import { DeadlineExceededError, DomainError, PROBLEM_TYPES, ProblemCode, problemTypeUri } from '@shortener/common';

/** RFC 9457 problem details, plus extension members. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
}

/** The media type of problem details (RFC 9457 section 3). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Where the OpenAPI document defines problem details (the API's document builder adds it). */
export const PROBLEM_SCHEMA_REF = '#/components/schemas/Problem';

/** A JSON Pointer (RFC 6901) to the member at `path`: each reference token with `~` and `/` escaped. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((key) => `/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Builds the problem object of a stable code. */
export function problem(code: ProblemCode, detail?: string, extensions: Record<string, unknown> = {}): ProblemDetails {
  const { status, title } = PROBLEM_TYPES[code];
  return { type: problemTypeUri(code), title, status, ...(detail ? { detail } : {}), ...extensions };
}

interface ErrorLike {
  name?: string;
  code?: string;
  statusCode?: number;
  status?: number;
  message?: string;
  getStatus?: () => number;
  getResponse?: () => unknown;
}

const STATUS_CODES: Record<number, ProblemCode> = {
  400: 'validation-failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limited',
  503: 'overloaded',
};

/**
 * PostgreSQL refusals that say nothing about the request and pass with time
 * (SQLSTATE classes 08 connection exception, 53 insufficient resources, 57P
 * operator intervention; 57014 query canceled, which includes
 * `statement_timeout`; 55P03 lock not available), node-postgres' pool wait
 * timeout and refused or reset sockets.
 * @returns the detail to show, or undefined for any other error.
 */
function dependencyUnavailable(error: unknown): string | undefined {
  const e = (error ?? {}) as ErrorLike & { driverError?: ErrorLike };
  const code = e.driverError?.code ?? e.code;
  const message = e.driverError?.message ?? e.message ?? '';
  if (code === '57014' || code === '55P03')
    return 'A database statement or lock wait took longer than its timeout (DATABASE_STATEMENT_TIMEOUT_MS); retry later';
  if (typeof code === 'string' && /^(08|53|57P)/.test(code)) return 'The database refused the request for now; retry later';
  if (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    /^timeout exceeded when trying to connect|^Connection terminated/.test(message)
  ) {
    return 'The database could not be reached in time (DATABASE_CONNECT_TIMEOUT_MS); retry later';
  }
  return undefined;
}

/**
 * Maps anything thrown to problem details: {@link DomainError} through the
 * code table; zod validation errors (nestjs-zod) to `validation-failed` with
 * an `errors` list; Fastify and Nest HTTP errors by status; transient database
 * failures to `dependency-unavailable` (503, `Retry-After: 1`); anything else
 * to `internal` (500) without leaking its message.
 */
export function toProblem(error: unknown): ProblemDetails {
  if (error instanceof DomainError) return problem(error.code, error.detail, error.extensions);
  if (error instanceof DeadlineExceededError) {
    return problem('deadline-exceeded', `${error.message}; its work was cancelled. Retry later, with the same Idempotency-Key for a create`, {
      deadlineMs: error.budgetMs,
      retryAfterSeconds: 1,
    });
  }
  const e = (error ?? {}) as ErrorLike;
  if (e.name === 'ZodValidationException' && typeof e.getResponse === 'function') {
    const zodError = (error as { getZodError?: () => { issues: { path: PropertyKey[]; message: string }[] } }).getZodError?.();
    const errors = (zodError?.issues ?? []).map((i) => ({ pointer: `/${i.path.map(String).join('/')}`, detail: i.message }));
    return problem('validation-failed', errors.map((x) => `${x.pointer}: ${x.detail}`).join('; '), { errors });
  }
  // Fastify's body parser errors.
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem('unsupported-media-type', 'Send the body as application/json');
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem('payload-too-large', e.message);
  // Fastify decodes the body as UTF-8 before measuring it, so invalid UTF-8 shows up as a length mismatch (Nest re-wraps it, see below).
  if (e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.message === 'Request body size did not match Content-Length')
    return problem('malformed-json', 'The body is not valid UTF-8, or its length does not match Content-Length');
  // Nest re-wraps Fastify's JSON parser errors as HttpException(message, 400), dropping the code.
  const jsonParserMessage = typeof e.message === 'string' && /^Body (is not valid JSON|cannot be empty) when|^Body is not valid JSON but/.test(e.message);
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.name === 'SyntaxError' || jsonParserMessage) {
    return problem('malformed-json', 'The body could not be parsed as JSON');
  }
  const status = typeof e.getStatus === 'function' ? e.getStatus() : (e.statusCode ?? e.status);
  // The router refuses a path parameter over its maxParamLength with 414; its message is the whole URL, never echoed.
  if (status === 414) return problem('uri-too-long', 'A path segment is longer than the server accepts');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = STATUS_CODES[status] as ProblemCode | undefined;
    if (code) return problem(code, typeof e.message === 'string' ? e.message : undefined);
    // RFC 9457 section 4.2.1: about:blank's title is the status's reason phrase.
    return { type: 'about:blank', title: HTTP_REASONS[status] ?? 'Client error', status };
  }
  if (status === 503) return problem('overloaded');
  const unavailable = dependencyUnavailable(error);
  if (unavailable) return problem('dependency-unavailable', unavailable, { retryAfterSeconds: 1 });
  return problem('internal');
}
