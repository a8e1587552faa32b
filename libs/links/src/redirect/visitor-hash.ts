import { createHash, createHmac } from 'node:crypto';

// Why not createHmac on every redirect: a Node HMAC object costs a native
// allocation and an OpenSSL context per call, measured at 15-25 us of CPU per
// redirect on the 2-core bench machine (docs/benchmarks.md), more than a
// tenth of an LRU-hit redirect. A client address fits one SHA-256 block, so
// with the key's inner and outer states computed once the HMAC is two
// compressions in JavaScript on reused buffers (about 1.5 us). The output is
// the same string createHmac gives (checked in the spec), so visitor hashes
// stay comparable across versions.

// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
// FIPS 180-4 section 5.3.3: the initial hash value.
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK_BYTES = 64;
// A message of at most this many bytes fits one block with its padding (a 0x80 byte and the 8-byte length).
const MAX_ONE_BLOCK_BYTES = BLOCK_BYTES - 9;
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Length of a visitor hash: 22 base64url characters, the first 132 bits of the HMAC. */
export const VISITOR_HASH_LENGTH = 22;

/**
 * The redirect's visitor hash (DESIGN.md section 5): HMAC-SHA-256 of the
 * client address under `CLICK_IP_SALT`, as the first 22 base64url characters
 * (132 bits), exactly `createHmac('sha256', salt).update(address)
 * .digest('base64url').slice(0, 22)`. Addresses of up to 55 ASCII characters
 * (every IPv4 and IPv6 text form) take the fast path; anything else falls back
 * to `createHmac`. Not reentrant: one instance per process, used synchronously.
 */
export class VisitorHasher {
  private readonly innerState = new Int32Array(8);
  private readonly outerState = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private readonly digest = new Int32Array(8);

  /** @param salt the secret (`CLICK_IP_SALT`), any length (over 64 bytes it is hashed first, as RFC 2104 says). */
  constructor(private readonly salt: string) {
    const key = Buffer.from(salt, 'utf8');
    const padded = new Uint8Array(BLOCK_BYTES);
    padded.set(key.length > BLOCK_BYTES ? createHash('sha256').update(key).digest() : key);
    const view = new DataView(padded.buffer);
    for (let i = 0; i < 16; i++) this.w[i] = view.getInt32(i * 4) ^ 0x36363636;
    this.compress(H0, this.innerState);
    for (let i = 0; i < 16; i++) this.w[i] = view.getInt32(i * 4) ^ 0x5c5c5c5c;
    this.compress(H0, this.outerState);
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
    w.set(digest);
    w[8] = 0x80000000 | 0;
    w.fill(0, 9, 15);
    w[15] = (BLOCK_BYTES + 32) * 8;
    this.compress(this.outerState, digest);
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

  /** One SHA-256 compression (FIPS 180-4 section 6.2.2) of the block in `w[0..15]` onto `state`, written to `out`. */
  private compress(state: Int32Array, out: Int32Array): void {
    const w = this.w;
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];
    let e = state[4];
    let f = state[5];
    let g = state[6];
    let h = state[7];
    for (let i = 0; i < 64; i++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    out[0] = (state[0] + a) | 0;
    out[1] = (state[1] + b) | 0;
    out[2] = (state[2] + c) | 0;
    out[3] = (state[3] + d) | 0;
    out[4] = (state[4] + e) | 0;
    out[5] = (state[5] + f) | 0;
    out[6] = (state[6] + g) | 0;
    out[7] = (state[7] + h) | 0;
  }
}
