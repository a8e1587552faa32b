import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { normalizeAlias } from './alias';
import { isGeneratedCodeShape, SHORT_CODE_SPACE, ShortCodeGenerator } from './short-code';

const KEY = 'test-key-0123456789abcdef';
const LAST = BigInt(SHORT_CODE_SPACE) - 1n;

/** The documented construction, written plainly on node:crypto as a model. */
function referenceCode(key: string, sequenceValue: number): string {
  const round = (r: number, half: number) =>
    createHmac('sha256', key)
      .update(Buffer.from([r, half >>> 16, (half >>> 8) & 0xff, half & 0xff]))
      .digest()
      .readUInt32BE(0) & 0x1fffff;
  let value = sequenceValue;
  do {
    let left = Math.floor(value / 2 ** 21);
    let right = value % 2 ** 21;
    for (let r = 0; r < 5; r++) [left, right] = [right, left ^ round(r, right)];
    value = left * 2 ** 21 + right;
  } while (value >= 62 ** 7);
  return toBase62Reference(value);
}

function toBase62Reference(value: number): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let code = '';
  for (let i = 0; i < 7; i++, value = Math.floor(value / 62)) code = alphabet[value % 62] + code;
  return code;
}

function sharedPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return i;
}

describe(ShortCodeGenerator.name, () => {
  const sut = new ShortCodeGenerator(KEY);

  it('covers exactly 62^7 values', () => {
    expect(SHORT_CODE_SPACE).toBe(3_521_614_606_208);
  });

  it('pins codes for a fixed key: the mapping is part of the stored data', () => {
    expect([0n, 1n, 2n, 1000n, LAST].map((v) => sut.codeFor(v))).toEqual(['5grmihw', 'qo2m8u2', '1vH1ihW', 'DMfgUcA', '20kYz06']);
  });

  it('is the documented construction: five Feistel rounds of HMAC-SHA-256, cycle walking, base62', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SHORT_CODE_SPACE - 1 }), (v) => {
        expect(sut.codeFor(BigInt(v))).toBe(referenceCode(KEY, v));
      }),
      { numRuns: 300 },
    );
  });

  it('gives no collision over 1,000,000 consecutive values, each 7 base62 characters', () => {
    const shape = /^[0-9A-Za-z]{7}$/;
    const seen = new Set<string>();
    const end = 1_000_001n;
    let malformed = 0;
    for (let v = 1n; v < end; v++) {
      const code = sut.codeFor(v);
      if (!shape.test(code)) malformed++;
      seen.add(code);
    }
    expect(malformed).toBe(0);
    expect(seen.size).toBe(1_000_000);
  }, 60_000);

  it('is a bijection: sequenceFor inverts codeFor', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: LAST }), (v) => {
        expect(sut.sequenceFor(sut.codeFor(v))).toBe(v);
      }),
      { numRuns: 2000 },
    );
    expect(sut.sequenceFor('20kYz06')).toBe(LAST);
  });

  it('gives consecutive values unrelated codes', () => {
    // For independent uniform codes, the equal positions of a pair follow
    // Binomial(7, 1/62): mean 7/62 = 0.1129, variance 0.1111. Over 30,000
    // pairs the mean has a standard deviation of 0.0019; the bound is 10 of
    // them. A shared prefix of 3 has probability 62^-3 per pair (0.13
    // expected over all pairs), one of 4 or more 62^-4 (0.002 expected).
    // The key is fixed, so the outcome is deterministic and cannot flake.
    let equalPositions = 0;
    let pairs = 0;
    const prefixCounts = [0, 0, 0, 0, 0, 0, 0, 0];
    for (const start of [0n, 2n ** 32n, LAST - 10_000n]) {
      let previous = sut.codeFor(start);
      for (let v = start + 1n; v <= start + 10_000n; v++) {
        const code = sut.codeFor(v);
        for (let i = 0; i < 7; i++) if (code[i] === previous[i]) equalPositions++;
        prefixCounts[sharedPrefixLength(code, previous)]++;
        pairs++;
        previous = code;
      }
    }
    expect(Math.abs(equalPositions / pairs - 7 / 62)).toBeLessThan(0.019);
    expect(prefixCounts[3]).toBeLessThanOrEqual(2);
    expect(prefixCounts.slice(4).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('spreads consecutive values evenly over the first character', () => {
    // Chi-square with 61 degrees of freedom: mean 61, standard deviation 11;
    // 150 is 8 standard deviations above the mean.
    const counts = new Map<string, number>();
    for (let v = 0n; v < 62_000n; v++) {
      const first = sut.codeFor(v)[0];
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    const chiSquare = [...counts.values()].reduce((sum, n) => sum + (n - 1000) ** 2 / 1000, 0);
    expect(counts.size).toBe(62);
    expect(chiSquare).toBeLessThan(150);
  });

  it('gives a different permutation for a different key', () => {
    const other = new ShortCodeGenerator('test-key-0123456789abcdeg');
    const mine = Array.from({ length: 10_000 }, (_, i) => sut.codeFor(BigInt(i)));
    const theirs = Array.from({ length: 10_000 }, (_, i) => other.codeFor(BigInt(i)));
    expect(theirs.slice(0, 2)).toEqual(['NFpFnkk', 'Z3mlBKl']);
    expect(mine.filter((code, i) => code === theirs[i])).toEqual([]);
    const mineSet = new Set(mine);
    expect(theirs.filter((code) => mineSet.has(code))).toEqual([]);
  });

  it('C17: a generated code is a valid alias, and the next value gives another code', () => {
    const code = sut.codeFor(42n);
    expect(normalizeAlias(code)).toBe(code);
    expect(isGeneratedCodeShape(code)).toBe(true);
    expect(sut.codeFor(43n)).not.toBe(code);
  });

  it.each([-1n, BigInt(SHORT_CODE_SPACE), 2n ** 64n])('refuses sequence value %p', (v) => {
    expect(() => sut.codeFor(v)).toThrow(new RangeError(`Sequence value ${v} is outside [0, 62^7)`));
  });

  it('refuses a number instead of a bigint', () => {
    expect(() => sut.codeFor(1 as unknown as bigint)).toThrow(RangeError);
  });

  it.each(['abc123', 'abc12345', 'abc-123', 'äbc1234', ''])('sequenceFor refuses %j', (code) => {
    expect(() => sut.sequenceFor(code)).toThrow(new RangeError(`"${code}" is not 7 base62 characters`));
  });

  it('refuses a key shorter than 16 characters', () => {
    expect(() => new ShortCodeGenerator('too-short-key')).toThrow(new RangeError('The short-code key must be at least 16 characters long'));
  });
});

describe(isGeneratedCodeShape.name, () => {
  it.each([
    ['abc1234', true],
    ['ZZZZZZZ', true],
    ['0000000', true],
    ['abc123', false],
    ['abc12345', false],
    ['abc-123', false],
    ['abc_123', false],
    ['äbc1234', false],
    ['abc123\n', false],
    ['', false],
  ])('%j -> %p', (code, expected) => {
    expect(isGeneratedCodeShape(code)).toBe(expected);
  });
});
