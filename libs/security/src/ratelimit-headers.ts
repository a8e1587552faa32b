/**
 * The `RateLimit-Policy` and `RateLimit` response fields of
 * draft-ietf-httpapi-ratelimit-headers-10 (IETF httpapi WG, 27 September
 * 2025), plus `Retry-After` (RFC 9110 section 10.2.3).
 *
 * Both fields are Structured Field Lists (RFC 9651): one Item per policy,
 * the Item a String naming the policy, with Integer parameters:
 *
 *     RateLimit-Policy: "api-key";q=600;w=60, "client";q=1200;w=60
 *     RateLimit: "api-key";r=599;t=41, "client";r=1187;t=41
 *
 * `q` quota (requests), `w` window (seconds), `r` remaining quota units,
 * `t` seconds until more quota is available. No partition key (`pk`) is sent:
 * ours are API key ids and client addresses, which the draft (section 6.1)
 * says not to echo.
 */

/** A quota policy: `quota` requests per `windowSeconds`. */
export interface QuotaPolicy {
  /** Policy identifier, printable ASCII (sent as an SF String). */
  name: string;
  /** Requests allowed per window, a non-negative integer. */
  quota: number;
  /** Window length in seconds, a positive integer. */
  windowSeconds: number;
}

/** Where a request leaves a policy: `remaining` requests, more quota in `resetSeconds`. */
export interface ServiceLimit {
  policy: QuotaPolicy;
  remaining: number;
  resetSeconds: number;
}

/** Header names, lower case as Node sends them. */
export const RATELIMIT_POLICY_HEADER = 'ratelimit-policy';
export const RATELIMIT_HEADER = 'ratelimit';
export const RETRY_AFTER_HEADER = 'retry-after';

// RFC 9651 section 3.3.1: an Integer has at most 15 digits.
const MAX_SF_INTEGER = 999_999_999_999_999;

/**
 * `RateLimit-Policy` of the given policies, e.g. `"client";q=1200;w=60`.
 * @throws Error when a name is not printable ASCII or a number is not a valid SF Integer.
 */
export function formatRateLimitPolicy(policies: readonly QuotaPolicy[]): string {
  return policies.map((p) => `${sfString(p.name)};q=${sfInteger(p.quota)};w=${sfInteger(p.windowSeconds)}`).join(', ');
}

/**
 * `RateLimit` of the given service limits, e.g. `"client";r=1187;t=41`.
 * Negative remaining quota (a client past its limit) is sent as 0.
 * @throws Error when a name is not printable ASCII or a number is not a valid SF Integer.
 */
export function formatRateLimit(limits: readonly ServiceLimit[]): string {
  return limits.map((l) => `${sfString(l.policy.name)};r=${sfInteger(Math.max(0, l.remaining))};t=${sfInteger(l.resetSeconds)}`).join(', ');
}

/**
 * Whole seconds until a window ends, rounded up so that a client that waits
 * this long finds the quota restored; used for both `t` and `Retry-After`,
 * which then never names an instant earlier than the reset (draft section 6).
 *
 * @param msBeforeNext milliseconds until the window ends (negative: never)
 * @returns seconds, at least 1 for a window that has not ended, else 0
 */
export function secondsUntilReset(msBeforeNext: number): number {
  return msBeforeNext > 0 ? Math.ceil(msBeforeNext / 1000) : 0;
}

function sfString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`policy name ${JSON.stringify(value)} is not printable ASCII`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function sfInteger(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SF_INTEGER) throw new Error(`${value} is not a non-negative Structured Field Integer`);
  return String(value);
}
