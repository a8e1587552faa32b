import { createHmac } from 'node:crypto';
import { BLOCK_BYTES, KeyedSha256 } from '@shortener/common';

// Why not createHmac on every redirect: a Node HMAC object per call (a native
// allocation and an OpenSSL context) cost 11-18 us of CPU per LRU-hit
// redirect in the bench's A/B (docs/decisions/0002-javascript-hmac.md), a
// fifth to a third of the request. A client address fits one SHA-256 block,
// so with the key's inner and outer states computed once the HMAC is two
// compressions in JavaScript on reused buffers. The output is the same string
// createHmac gives (checked in the spec), so visitor hashes stay comparable
// across versions.

// A message of at most this many bytes fits one block with its padding (a 0x80 byte and the 8-byte length).
const MAX_ONE_BLOCK_BYTES = BLOCK_BYTES - 9;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Length of a visitor hash: 22 base64url characters, the first 132 bits of the HMAC. */
export const VISITOR_HASH_LENGTH = 22;

/**
 * The redirect's visitor hash (docs/design.md section 5): HMAC-SHA-256 of the
 * client address under `CLICK_IP_SALT`, as the first 22 base64url characters
 * (132 bits), exactly `createHmac('sha256', salt).update(address)
 * .digest('base64url').slice(0, 22)`. Addresses of up to 55 ASCII characters
 * (every IPv4 and IPv6 text form) take the fast path; anything else falls back
 * to `createHmac`. Not reentrant: one instance per process, used synchronously.
 */
export class VisitorHasher extends KeyedSha256 {
  /** @param salt the secret (`CLICK_IP_SALT`), any length (over 64 bytes it is hashed first, as RFC 2104 says). */
  constructor(private readonly salt: string) {
    super(Buffer.from(salt, 'utf8'));
  }

  /**
   * @param address the client address (Fastify's `request.ip`)
   * @returns 22 base64url characters
   */
  hash(address: string): string {
    const n = address.length;
    if (n > MAX_ONE_BLOCK_BYTES) return this.slow(address);
    const w = this.w;
    w.fill(0, 0, 16);
    for (let i = 0; i < n; i++) {
      const c = address.charCodeAt(i);
      if (c > 0x7f) return this.slow(address);
      w[i >> 2] |= c << (24 - 8 * (i & 3));
    }
    // Padding (FIPS 180-4 section 5.1.1): a 1 bit, zeros, the length in bits counting the ipad block.
    w[n >> 2] |= 0x80 << (24 - 8 * (n & 3));
    w[15] = (BLOCK_BYTES + n) * 8;
    const digest = this.digest;
    this.compress(this.innerState, digest);
    this.finishOuter();
    // 22 characters = 132 bits: five 24-bit groups (bytes 0-14), then bytes 15-16 for the last two characters.
    let out = '';
    for (let byte = 0; byte < 15; byte += 3) {
      const v = (this.byteAt(byte) << 16) | (this.byteAt(byte + 1) << 8) | this.byteAt(byte + 2);
      out += BASE64URL[v >>> 18] + BASE64URL[(v >>> 12) & 63] + BASE64URL[(v >>> 6) & 63] + BASE64URL[v & 63];
    }
    const v = (this.byteAt(15) << 8) | this.byteAt(16);
    return out + BASE64URL[v >>> 10] + BASE64URL[(v >>> 4) & 63];
  }

  private byteAt(i: number): number {
    return (this.digest[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
  }

  private slow(address: string): string {
    return createHmac('sha256', this.salt).update(address).digest('base64url').slice(0, VISITOR_HASH_LENGTH);
  }
}
