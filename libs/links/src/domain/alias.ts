import { DomainError } from '@shortener/common';

/**
 * First path segments the app serves itself (lower case). An alias equal to
 * one of them, in any letter case, would shadow a route or be shadowed by it.
 */
export const RESERVED_PATH_SEGMENTS: readonly string[] = Object.freeze([
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

/** Longest alias, in Unicode code points after NFC normalisation. */
export const MAX_ALIAS_LENGTH = 64;

const RESERVED = new Set(RESERVED_PATH_SEGMENTS);
// A mark may only follow a letter, digit or another mark: a leading one would
// render onto whatever precedes the alias in a URL.
const ALIAS_SHAPE = /^[\p{L}\p{Nd}_-][\p{L}\p{M}\p{Nd}_-]*$/u;
// Invisible code points such as the Hangul fillers (U+3164 is a letter) and
// variation selectors (marks) would let two aliases that look the same differ.
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/u;
const ALPHABET_DETAIL =
  `An alias is 1 to ${MAX_ALIAS_LENGTH} characters: Unicode letters, decimal digits, "-" and "_", ` + 'and combining marks after the first character';

/**
 * Validates a custom alias (docs/design.md section 4) and returns its stored form.
 *
 * The alias is NFC-normalised (Unicode UAX #15) so that composed and
 * decomposed spellings are one alias; otherwise it is kept as given, because
 * aliases are case-sensitive. Allowed: 1-64 code points of letters (`\p{L}`),
 * decimal digits (`\p{Nd}`), `-`, `_`, and combining marks (`\p{M}`) except
 * first; default-ignorable (invisible) code points are refused. Such an
 * alias needs no escaping as a path segment besides UTF-8 percent-encoding.
 *
 * @param input the alias as the client sent it
 * @returns the NFC form of the alias
 * @throws DomainError `alias-reserved` when it equals a first path segment of
 *   the app's own routes ({@link RESERVED_PATH_SEGMENTS}), compared case-insensitively
 * @throws DomainError `alias-invalid` for any other character or length; the
 *   detail names the allowed alphabet
 */
export function normalizeAlias(input: string): string {
  const alias = input.normalize('NFC');
  // Before the alphabet check, so that `favicon.ico` is refused as reserved.
  if (RESERVED.has(alias.toLowerCase())) {
    throw new DomainError('alias-reserved', `"${alias}" is a path the service uses itself`, {
      reserved: [...RESERVED_PATH_SEGMENTS],
    });
  }
  const length = [...alias].length;
  if (length < 1 || length > MAX_ALIAS_LENGTH || !ALIAS_SHAPE.test(alias) || INVISIBLE.test(alias)) {
    throw new DomainError('alias-invalid', ALPHABET_DETAIL, { maxLength: MAX_ALIAS_LENGTH });
  }
  return alias;
}
