import { DomainError } from '@shortener/common';
import fc from 'fast-check';
import { normalizeAlias, RESERVED_PATH_SEGMENTS } from './alias';

const ALPHABET_DETAIL = 'An alias is 1 to 64 characters: Unicode letters, decimal digits, "-" and "_", and combining marks after the first character';

function refusal(input: string): DomainError {
  try {
    normalizeAlias(input);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

describe(normalizeAlias.name, () => {
  it.each([
    ['sale', 'sale'],
    ['Sale', 'Sale'],
    ['a', 'a'],
    ['x_y-z', 'x_y-z'],
    ['-', '-'],
    ['123', '123'],
    ['café', 'café'],
    ['cafe\u0301', 'caf\u00e9'],
    ['a\u0301\u0302', '\u00e1\u0302'],
    ['ß', 'ß'],
    ['русский', 'русский'],
    ['مرحبا', 'مرحبا'],
    ['日本語', '日本語'],
    ['٣٤', '٣٤'],
    ['구글', '구글'],
    ['\u1100\u116e\u1100\u1173\u11af', '구글'],
    ['a'.repeat(64), 'a'.repeat(64)],
    ['𝒜'.repeat(64), '𝒜'.repeat(64)],
    ['apis', 'apis'],
    ['api-docs', 'api-docs'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeAlias(input)).toBe(expected);
  });

  it('keeps letter case, so Sale and sale are two aliases', () => {
    expect(normalizeAlias('SALE')).not.toBe(normalizeAlias('sale'));
  });

  it('C13: an accepted non-ASCII alias is reachable as a percent-encoded path', () => {
    const alias = normalizeAlias('구글');
    const url = new URL(`https://short.example/${encodeURIComponent(alias)}`);
    expect(url.pathname).toBe('/%EA%B5%AC%EA%B8%80');
    expect(decodeURIComponent(url.pathname.slice(1))).toBe('구글');
  });

  it('C13: refuses an emoji alias, naming the alphabet', () => {
    const error = refusal('😀');
    expect(error.code).toBe('alias-invalid');
    expect(error.detail).toBe(ALPHABET_DETAIL);
    expect(error.extensions).toEqual({ maxLength: 64 });
  });

  it.each([
    ...':/?#[]@!$&\'()*+,;=%.~ <>"\\^`{|}',
    '',
    'a'.repeat(65),
    '𝒜'.repeat(65),
    'a b',
    'a\tb',
    'a\u00a0b',
    'a\u200bb',
    'a\u200db',
    '\u0301a',
    '\u3164',
    'a\u3164b',
    'a\ufe0f',
    'a/b',
    'a.b',
    '..',
    'a%20b',
    '😀',
    '👍🏽',
    'a\u0000',
    '²',
    'Ⅻ',
  ])('refuses %j with the alphabet', (input) => {
    const error = refusal(input);
    expect(error.code).toBe('alias-invalid');
    expect(error.detail).toBe(ALPHABET_DETAIL);
  });

  it('lists the reserved first path segments', () => {
    expect(RESERVED_PATH_SEGMENTS).toEqual([
      'api',
      'health',
      'metrics',
      'docs',
      'openapi',
      'favicon.ico',
      'robots.txt',
      'sitemap.xml',
      '.well-known',
      'static',
      'assets',
      'admin',
      'problems',
    ]);
  });

  it.each(RESERVED_PATH_SEGMENTS.flatMap((s) => [s, s.toUpperCase(), s[0].toUpperCase() + s.slice(1)]))('C14: refuses %j as reserved', (input) => {
    const error = refusal(input);
    expect(error.code).toBe('alias-reserved');
    expect(error.detail).toBe(`"${input}" is a path the service uses itself`);
    expect(error.extensions).toEqual({ reserved: [...RESERVED_PATH_SEGMENTS] });
  });

  it('accepted aliases are NFC, in the alphabet, and survive a URL path round trip', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 70 }), (input) => {
        let alias: string;
        try {
          alias = normalizeAlias(input);
        } catch (error) {
          expect(error).toBeInstanceOf(DomainError);
          expect(['alias-invalid', 'alias-reserved']).toContain((error as DomainError).code);
          return;
        }
        expect(alias).toBe(input.normalize('NFC'));
        expect(alias).toMatch(/^[\p{L}\p{Nd}_-][\p{L}\p{M}\p{Nd}_-]{0,63}$/u);
        const path = new URL(`https://short.example/${encodeURIComponent(alias)}`).pathname;
        expect(decodeURIComponent(path.slice(1))).toBe(alias);
      }),
      { numRuns: 5000 },
    );
  });
});
