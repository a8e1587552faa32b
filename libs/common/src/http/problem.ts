import { STATUS_CODES as HTTP_REASONS } from 'node:http';
import { DomainError } from '../errors/domain-error';
import { PROBLEM_TYPES, ProblemCode, problemTypeUri } from '../errors/problem-types';

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
 * Maps anything thrown to problem details: {@link DomainError} through the
 * code table; zod validation errors (nestjs-zod) to `validation-failed` with
 * an `errors` list; Fastify and Nest HTTP errors by status; anything else to
 * `internal` (500) without leaking its message.
 */
export function toProblem(error: unknown): ProblemDetails {
  if (error instanceof DomainError) return problem(error.code, error.detail, error.extensions);
  const e = (error ?? {}) as ErrorLike;
  if (e.name === 'ZodValidationException' && typeof e.getResponse === 'function') {
    const zodError = (error as { getZodError?: () => { issues: Array<{ path: PropertyKey[]; message: string }> } }).getZodError?.();
    const errors = (zodError?.issues ?? []).map((i) => ({ pointer: `/${i.path.map(String).join('/')}`, detail: i.message }));
    return problem('validation-failed', errors.map((x) => `${x.pointer}: ${x.detail}`).join('; '), { errors });
  }
  // Fastify's body parser errors.
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return problem('unsupported-media-type', 'Send the body as application/json');
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return problem('payload-too-large', e.message);
  // Fastify decodes the body as UTF-8 before measuring it, so invalid UTF-8 shows up as a length mismatch (Nest re-wraps it, see below).
  if (e.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || e.message === 'Request body size did not match Content-Length') return problem('malformed-json', 'The body is not valid UTF-8, or its length does not match Content-Length');
  // Nest re-wraps Fastify's JSON parser errors as HttpException(message, 400), dropping the code.
  const jsonParserMessage = typeof e.message === 'string' && /^Body (is not valid JSON|cannot be empty) when|^Body is not valid JSON but/.test(e.message);
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.name === 'SyntaxError' || jsonParserMessage) {
    return problem('malformed-json', 'The body could not be parsed as JSON');
  }
  const status = typeof e.getStatus === 'function' ? e.getStatus() : (e.statusCode ?? e.status);
  // The router refuses a path parameter over its maxParamLength with 414; its message is the whole URL, never echoed.
  if (status === 414) return problem('uri-too-long', 'A path segment is longer than the server accepts');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = STATUS_CODES[status];
    if (code) return problem(code, typeof e.message === 'string' ? e.message : undefined);
    // RFC 9457 section 4.2.1: about:blank's title is the status's reason phrase.
    return { type: 'about:blank', title: HTTP_REASONS[status] ?? 'Client error', status };
  }
  if (status === 503) return problem('overloaded');
  return problem('internal');
}
