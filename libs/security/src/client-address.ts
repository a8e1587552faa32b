import { isIP } from 'node:net';

/** The key of requests whose peer address is missing or not an IP address (e.g. a closed socket). */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * The rate-limit key of a client address (docs/design.md section 9).
 *
 * - IPv4: the address itself, `203.0.113.7`.
 * - IPv4-mapped IPv6 (`::ffff:203.0.113.7`, how a dual-stack socket reports
 *   an IPv4 peer): the IPv4 address, so both spellings share one budget.
 * - IPv6: its /64 prefix in RFC 5952 form, `2001:db8:1:2::/64`. A subscriber
 *   is routinely given a whole /64 (RFC 6177), so a per-address limit would
 *   be evaded by rotating through it; a /64 is the smallest unit that maps
 *   to one customer. A zone index (`fe80::1%eth0`) is dropped.
 * - Anything else (empty, not an address): {@link UNKNOWN_CLIENT}.
 *
 * Pure; `address` is what Fastify's `request.ip` gives (the socket peer, or
 * the right-most untrusted `X-Forwarded-For` hop behind trusted proxies).
 */
export function clientAddressKey(address: string | undefined): string {
  if (!address) return UNKNOWN_CLIENT;
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) return UNKNOWN_CLIENT;
  const groups = ipv6Groups(bare);
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`;
  }
  const prefix = groups.slice(0, 4);
  // The interface identifier is all zeros, so the longest zero run always
  // ends the address (RFC 5952 section 4.2.3): compress it with the prefix's
  // own trailing zero groups.
  while (prefix.length > 0 && prefix[prefix.length - 1] === 0) prefix.pop();
  return `${prefix.map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail split in two). */
function ipv6Groups(address: string): number[] {
  const parse = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((piece) => {
          if (!piece.includes('.')) return [parseInt(piece, 16)];
          const [a, b, c, d] = piece.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const gap = address.indexOf('::');
  if (gap === -1) return parse(address);
  const head = parse(address.slice(0, gap));
  const tail = parse(address.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}
