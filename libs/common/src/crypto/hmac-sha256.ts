import { createHash } from 'node:crypto';

// FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of the
// cube roots of the first 64 primes.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
// FIPS 180-4 section 5.3.3: the initial hash value.
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
/** SHA-256 block size in bytes. */
export const BLOCK_BYTES = 64;
const PADDING_BIT = 0x80000000 | 0;

/**
 * HMAC-SHA-256 (RFC 2104 over FIPS 180-4) with the key's inner and outer
 * states computed once, and one SHA-256 compression on reused buffers: the
 * shared core of the fixed-length MACs below and of the redirect's visitor
 * hash. Subclasses fill `w[0..15]` with a block and call {@link compress}.
 * Not reentrant: use an instance synchronously.
 */
export abstract class KeyedSha256 {
  protected readonly innerState = new Int32Array(8);
  protected readonly outerState = new Int32Array(8);
  // The block being compressed in words 0-15, its message schedule after.
  protected readonly w = new Int32Array(64);
  protected readonly digest = new Int32Array(8);

  /** @param key the secret, any length (keys longer than 64 bytes are hashed first, as RFC 2104 says). */
  constructor(key: Uint8Array) {
    const padded = new Uint8Array(BLOCK_BYTES);
    padded.set(key.length > BLOCK_BYTES ? createHash('sha256').update(key).digest() : key);
    const view = new DataView(padded.buffer);
    for (let i = 0; i < 16; i++) this.w[i] = view.getInt32(i * 4) ^ 0x36363636;
    this.compress(H0, this.innerState);
    for (let i = 0; i < 16; i++) this.w[i] = view.getInt32(i * 4) ^ 0x5c5c5c5c;
    this.compress(H0, this.outerState);
  }

  /** The outer hash of the inner digest now in `digest`, written back to `digest` (the HMAC). */
  protected finishOuter(): void {
    const w = this.w;
    w.set(this.digest);
    w[8] = PADDING_BIT;
    w.fill(0, 9, 15);
    w[15] = (BLOCK_BYTES + 32) * 8;
    this.compress(this.outerState, this.digest);
  }

  /** One SHA-256 compression (FIPS 180-4 section 6.2.2) of the block in `w[0..15]` onto `state`, written to `out`. */
  protected compress(state: Int32Array, out: Int32Array): void {
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

/**
 * HMAC-SHA-256 (RFC 2104 over FIPS 180-4) of a single 32-bit word, truncated
 * to its first 32 bits, with the key's inner and outer states computed once.
 *
 * Why not `node:crypto`: `createHmac` allocates a native object per call
 * (docs/decisions/0002-javascript-hmac.md), and a Feistel permutation needs
 * one HMAC per round; here a tag costs two compression-function calls on
 * reused buffers. The output is checked against `createHmac` in the spec.
 *
 * Not for authenticating data: it is the pseudo-random round function of
 * the links library's `ShortCodeGenerator`, which only ever MACs fixed-length messages.
 */
export class HmacSha256Word extends KeyedSha256 {
  /**
   * The first four bytes of HMAC-SHA-256(key, message), read big-endian.
   * @param message an integer in [0, 2^32) (or its int32 alias), MACed as four big-endian bytes
   * @returns an unsigned integer in [0, 2^32)
   */
  first32(message: number): number {
    const w = this.w;
    const digest = this.digest;
    // Inner hash: the ipad block (precomputed), then the message and its
    // padding; the length field counts the ipad block too.
    w[0] = message | 0;
    w[1] = PADDING_BIT;
    w.fill(0, 2, 15);
    w[15] = (BLOCK_BYTES + 4) * 8;
    this.compress(this.innerState, digest);
    this.finishOuter();
    return digest[0] >>> 0;
  }
}
