import { HmacSha256Word } from '@shortener/common';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RADIX = ALPHABET.length;

/** Length of every generated code, in characters. */
export const SHORT_CODE_LENGTH = 7;

/** Number of distinct generated codes: 62^7 = 3,521,614,606,208. */
export const SHORT_CODE_SPACE = RADIX ** SHORT_CODE_LENGTH;

// 62^7 < 2^42, so a 42-bit block cipher restricted by cycle walking covers it;
// about 80% of 42-bit values are below 62^7, so a code costs 1.25 encryptions
// on average.
const HALF_BITS = 21;
const HALF_MASK = (1 << HALF_BITS) - 1;
const HALF_SPAN = 2 ** HALF_BITS;
// Four rounds are the Luby-Rackoff minimum for a strong pseudo-random
// permutation, but that bound (about q^2 / 2^21 after q known codes) is weak
// on 21-bit halves. Patarin (CRYPTO 2004) proved five or more rounds secure
// against adaptive chosen plaintext and ciphertext attacks up to nearly 2^21
// queries. Each round is one HMAC, about 1 us in pure JavaScript here, so
// five rounds (6.25 HMACs per code with cycle walking) stay well under 20 us.
const ROUNDS = 5;
const MIN_KEY_LENGTH = 16;
const SPACE_AS_BIGINT = BigInt(SHORT_CODE_SPACE);
// Module-level bindings: a global lookup per call (Math, Number) costs about
// half a microsecond inside the vm contexts Jest runs tests in.
const toNumber = Number;
const CODE_SHAPE = /^[0-9A-Za-z]{7}$/;
const DIGIT_VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));

/**
 * Turns values of a database sequence into short codes that never collide and
 * cannot be enumerated (docs/design.md section 4): a keyed permutation of
 * [0, 62^7), written as 7 base62 characters (`0-9A-Za-z`, left-padded with `0`).
 *
 * The permutation is a balanced Feistel network over 42 bits (two 21-bit
 * halves, five rounds, round function HMAC-SHA-256(key, round || half)
 * truncated to 21 bits) restricted to [0, 62^7) by cycle walking (Black and
 * Rogaway, "Ciphers with Arbitrary Finite Domains", 2002). A permutation is a
 * bijection, so distinct sequence values give distinct codes.
 *
 * The key and this algorithm are part of the stored data: changing either
 * maps future sequence values onto codes that may already be in use.
 */
export class ShortCodeGenerator {
  private readonly prf: HmacSha256Word;

  /**
   * @param secretKey the permutation key (`CODE_PERMUTATION_KEY`), at least 16 characters
   * @throws RangeError when the key is shorter than 16 characters
   */
  constructor(secretKey: string) {
    if (secretKey.length < MIN_KEY_LENGTH) {
      throw new RangeError(`The short-code key must be at least ${MIN_KEY_LENGTH} characters long`);
    }
    this.prf = new HmacSha256Word(Buffer.from(secretKey, 'utf8'));
  }

  /**
   * The code of a sequence value.
   * @param sequenceValue an integer in [0, 62^7)
   * @returns exactly 7 characters of `0-9A-Za-z`
   * @throws RangeError when the value is not a bigint in [0, 62^7)
   */
  codeFor(sequenceValue: bigint): string {
    if (typeof sequenceValue !== 'bigint' || sequenceValue < 0n || sequenceValue >= SPACE_AS_BIGINT) {
      throw new RangeError(`Sequence value ${sequenceValue} is outside [0, 62^7)`);
    }
    let value = toNumber(sequenceValue);
    do value = this.encrypt(value);
    while (value >= SHORT_CODE_SPACE);
    return toBase62(value);
  }

  /**
   * The sequence value a generated code came from: the inverse of {@link codeFor}.
   * @param code 7 characters of `0-9A-Za-z`
   * @returns an integer in [0, 62^7)
   * @throws RangeError when the code does not have the generated shape
   */
  sequenceFor(code: string): bigint {
    if (!isGeneratedCodeShape(code)) throw new RangeError(`"${code}" is not 7 base62 characters`);
    let value = fromBase62(code);
    do value = this.decrypt(value);
    while (value >= SHORT_CODE_SPACE);
    return BigInt(value);
  }

  private encrypt(value: number): number {
    let right = value & HALF_MASK;
    let left = (value - right) / HALF_SPAN;
    for (let round = 0; round < ROUNDS; round++) {
      const next = left ^ this.round(round, right);
      left = right;
      right = next;
    }
    return left * HALF_SPAN + right;
  }

  private decrypt(value: number): number {
    let right = value & HALF_MASK;
    let left = (value - right) / HALF_SPAN;
    for (let round = ROUNDS - 1; round >= 0; round--) {
      const previous = right ^ this.round(round, left);
      right = left;
      left = previous;
    }
    return left * HALF_SPAN + right;
  }

  /** F(round, half): the message is one byte of round number and three bytes of half. */
  private round(round: number, half: number): number {
    return this.prf.first32((round << 24) | half) & HALF_MASK;
  }
}

/**
 * Whether a string has the shape of a generated code: exactly 7 characters of
 * `0-9A-Za-z`. Aliases of that shape are allowed, so it does not tell who made it.
 */
export function isGeneratedCodeShape(code: string): boolean {
  return CODE_SHAPE.test(code);
}

// Exact division after taking the remainder, rather than Math.floor (see toNumber).
function toBase62(value: number): string {
  let code = '';
  for (let i = 0; i < SHORT_CODE_LENGTH; i++) {
    const digit = value % RADIX;
    code = ALPHABET[digit] + code;
    value = (value - digit) / RADIX;
  }
  return code;
}

function fromBase62(code: string): number {
  let value = 0;
  for (const c of code) value = value * RADIX + DIGIT_VALUE.get(c)!;
  return value;
}
