import { DomainError } from '@shortener/common';
import { canonicalHost, isHostBlocked, isOneOfHosts } from './host-name';

/**
 * What a target URL may point at.
 * - `ownHosts`: the shortener's own public hosts (e.g. `short.example`), so a
 *   link can never redirect to another short link of this service.
 * - `blockedHosts`: each entry blocks that host and all its subdomains.
 * - `maxLengthBytes`: the longest serialized target, in UTF-8 bytes.
 *
 * Host lists are compared as by {@link canonicalHost} and read once per
 * array: build a policy once from configuration and do not mutate it.
 */
export interface TargetPolicy {
  ownHosts: readonly string[];
  blockedHosts: readonly string[];
  maxLengthBytes: number;
}

/** The only schemes a target may use, as the URL parser writes them. */
export const ALLOWED_TARGET_SCHEMES: readonly string[] = Object.freeze(['http:', 'https:']);

// C0 controls and DEL. The URL parser would silently drop tab and newlines
// (so `java\tscript:` would become `javascript:`) and keep the rest, so they
// are refused before parsing rather than trusted to it.
const CONTROL_CHARACTER = /[\u0000-\u001F\u007F]/;
const MAX_ECHOED_SCHEME_LENGTH = 32;

/**
 * Validates a link target and returns the form that is stored and served as
 * `Location` (docs/design.md section 4).
 *
 * Surrounding whitespace (ECMAScript `String.prototype.trim`) is removed; the
 * rest is parsed by the WHATWG URL Standard parser, and the result is its
 * serialization (`href`): existing percent-escapes kept byte for byte, IDN
 * hosts as A-labels, other non-ASCII as UTF-8 percent-escapes, default ports
 * and dot segments removed. The result is pure ASCII and a fixed point:
 * normalising it again returns it unchanged.
 *
 * @param input the target as the client sent it
 * @param policy own hosts, blocked hosts and the length limit
 * @returns the serialized absolute http or https URL
 * @throws DomainError with code
 *   - `target-control-character`: a U+0000-U+001F or U+007F inside the URL
 *     (extensions `codePoint`, `index`: its position in `input`, in UTF-16 code units)
 *   - `target-invalid`: not an absolute URL (no scheme, relative, unparsable)
 *   - `target-scheme-not-allowed`: not http or https (extensions `allowedSchemes`, `scheme`)
 *   - `target-has-credentials`: a user name or password
 *   - `target-host-not-allowed`: one of `policy.ownHosts`, whatever the case, port, IDNA form or trailing dot
 *   - `target-host-blocked`: on `policy.blockedHosts` or a subdomain of an entry
 *   - `target-too-long`: the serialization exceeds `policy.maxLengthBytes`
 *     (extensions `maxLengthBytes`, `lengthBytes`)
 */
export function normalizeTarget(input: string, policy: TargetPolicy): string {
  const trimmed = input.trim();
  const control = CONTROL_CHARACTER.exec(trimmed);
  if (control !== null) {
    const codePoint = `U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
    const index = input.length - input.trimStart().length + control.index;
    throw new DomainError(
      'target-control-character',
      `The target URL contains the control character ${codePoint} at index ${index}; only surrounding whitespace is removed`,
      { codePoint, index },
    );
  }
  const url = parseAbsolute(trimmed);
  if (!ALLOWED_TARGET_SCHEMES.includes(url.protocol)) {
    const scheme = url.protocol.slice(0, -1);
    const shown = scheme.length > MAX_ECHOED_SCHEME_LENGTH ? `${scheme.slice(0, MAX_ECHOED_SCHEME_LENGTH)}...` : scheme;
    throw new DomainError('target-scheme-not-allowed', `Only http and https target URLs are allowed, not "${shown}"`, {
      allowedSchemes: ['http', 'https'],
      scheme: shown,
    });
  }
  if (url.username !== '' || url.password !== '') {
    throw new DomainError('target-has-credentials', 'The target URL must not contain a user name or password');
  }
  const host = canonicalHost(url.hostname);
  if (isOneOfHosts(host, policy.ownHosts)) {
    throw new DomainError('target-host-not-allowed', `The target URL points at this shortener (${host})`, { host });
  }
  if (isHostBlocked(host, policy.blockedHosts)) {
    throw new DomainError('target-host-blocked', `The host ${host} is blocked`, { host });
  }
  const href = url.href;
  const lengthBytes = Buffer.byteLength(href, 'utf8');
  if (lengthBytes > policy.maxLengthBytes) {
    throw new DomainError('target-too-long', `The target URL is ${lengthBytes} bytes long once normalised; the maximum is ${policy.maxLengthBytes} bytes`, {
      maxLengthBytes: policy.maxLengthBytes,
      lengthBytes,
    });
  }
  // The input itself when it was normal already: the caller's string is kept and the copy dies young.
  return href === trimmed ? trimmed : href;
}

/**
 * The host of a target in {@link canonicalHost} form (no port, no trailing
 * dot), e.g. to re-check stored links against a changed blocklist.
 *
 * @param target an absolute URL, typically one returned by {@link normalizeTarget}
 * @throws DomainError `target-invalid` when it is not an absolute URL
 */
export function hostOf(target: string): string {
  return canonicalHost(parseAbsolute(target).hostname);
}

function parseAbsolute(text: string): URL {
  try {
    // No base URL: `example.com/path`, `//example.com/path` and `/path` fail
    // here instead of resolving against some default.
    return new URL(text);
  } catch {
    throw new DomainError('target-invalid', 'The target must be an absolute URL that starts with http:// or https://');
  }
}
