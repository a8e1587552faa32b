import { DomainError } from '@shortener/common';
import { canonicalHost } from '../domain/host-name';

/** Longest DNS name (RFC 1035 section 2.3.4, without the trailing dot). */
const MAX_HOST_LENGTH = 253;

/**
 * The stored form of a blocklist entry an admin sends: surrounding
 * whitespace and a leading `*.` removed (an entry always covers its
 * subdomains), then {@link canonicalHost} (lower case, IDNA A-labels, no
 * port, no trailing dot). `Bücher.Example.` becomes `xn--bcher-kva.example`.
 *
 * A port is ignored (`evil.example:8080` blocks `evil.example`); a bare IPv6
 * address is bracketed (`::1` becomes `[::1]`).
 *
 * @throws DomainError `validation-failed` (pointer `/host`) unless the result
 *   is a host name or IP address the URL parser accepts as it is: no scheme,
 *   path, credentials or spaces.
 */
export function normalizeBlockedHost(input: string): string {
  const bare = input.trim().replace(/^\*\./, '');
  const host = canonicalHost(bare);
  let valid = host.length > 0 && host.length <= MAX_HOST_LENGTH && !/[/?#@\\\s]/.test(bare);
  if (valid) {
    try {
      valid = new URL(`http://${host}/`).hostname === host;
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    const detail = 'must be a host name or IP address, e.g. evil.example (which also blocks its subdomains)';
    throw new DomainError('validation-failed', `/host: ${detail}`, { errors: [{ pointer: '/host', detail }] });
  }
  return host;
}
