/**
 * Every kind of error the product reports, in one table: a stable code, the
 * HTTP status and the title of its RFC 9457 problem details. The problem's
 * `type` is `urn:shortener:problem:<code>`; clients may switch on it.
 */
export const PROBLEM_TYPES = {
  'validation-failed': { status: 400, title: 'The request is invalid' },
  'malformed-json': { status: 400, title: 'The request body is not valid JSON' },
  'unsupported-media-type': { status: 415, title: 'The request body must be JSON' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'json-too-deep': { status: 400, title: 'The JSON body nests deeper than the configured maximum' },
  'request-timeout': { status: 408, title: 'The request was not received in time' },
  'request-header-too-large': { status: 431, title: 'The request headers are too large' },
  'uri-too-long': { status: 414, title: 'The request URI is too long' },
  'target-invalid': { status: 400, title: 'The target URL is not a valid absolute URL' },
  'target-scheme-not-allowed': { status: 400, title: 'Only http and https target URLs are allowed' },
  'target-has-credentials': { status: 400, title: 'Target URLs must not contain credentials' },
  'target-control-character': { status: 400, title: 'The target URL contains a control character' },
  'target-too-long': { status: 400, title: 'The target URL is longer than the configured maximum' },
  'target-host-not-allowed': { status: 400, title: "The target URL points at the shortener's own host" },
  'target-host-blocked': { status: 400, title: 'The target host is blocked' },
  'alias-invalid': { status: 400, title: 'The alias is not allowed' },
  'alias-reserved': { status: 400, title: 'The alias is reserved' },
  'alias-taken': { status: 409, title: 'The alias is already taken' },
  'domain-unknown': { status: 400, title: 'The domain is not configured' },
  'expires-at-invalid': { status: 400, title: 'expiresAt must be an RFC 3339 timestamp with an offset' },
  'expires-at-past': { status: 400, title: 'expiresAt must be in the future' },
  'cursor-invalid': { status: 400, title: 'The pagination cursor is invalid' },
  'stats-range-invalid': { status: 400, title: 'The statistics range is empty or has too many points' },
  unauthenticated: { status: 401, title: 'A valid API key is required' },
  forbidden: { status: 403, title: "The API key's role does not allow this" },
  'link-not-found': { status: 404, title: 'No such link' },
  'api-key-not-found': { status: 404, title: 'No such API key' },
  'blocked-host-configured': { status: 409, title: 'The host is blocked by configuration' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'link-gone': { status: 410, title: 'The link is no longer available' },
  'idempotency-key-in-flight': { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  'idempotency-key-reused': { status: 422, title: 'This Idempotency-Key was used with a different request' },
  'idempotency-key-invalid': { status: 400, title: 'The Idempotency-Key header is invalid' },
  'rate-limited': { status: 429, title: 'Too many requests' },
  overloaded: { status: 503, title: 'The service is overloaded' },
  'deadline-exceeded': { status: 503, title: 'The request did not finish within its deadline' },
  'dependency-unavailable': { status: 503, title: 'A service the request needs is unavailable' },
  internal: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

/** A stable error code: a key of {@link PROBLEM_TYPES}. */
export type ProblemCode = keyof typeof PROBLEM_TYPES;

/** The RFC 9457 `type` URI of a code. */
export function problemTypeUri(code: ProblemCode): string {
  return `urn:shortener:problem:${code}`;
}
