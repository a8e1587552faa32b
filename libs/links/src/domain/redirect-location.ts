// Everything outside printable ASCII, so that the header stays ASCII.
const NEEDS_ESCAPE = /[^\x21-\x7E]/gu;

/**
 * The `Location` of a redirect that forwards the visitor's query string
 * (docs/design.md section 3, case C05): the raw query joined with `&` to the
 * target's own query, placed before the target's `#fragment`.
 *
 * The visitor's query is never decoded or rebuilt from parsed pairs, so `+`,
 * `%2B`, valueless keys, empty values, repeated keys and order reach the
 * target as sent. Only what cannot stand in an ASCII header is escaped: each
 * character outside U+0021-U+007E becomes `%XX` of its byte. A `#` ends the
 * query (RFC 3986 section 3.4); Node.js passes a fragment of the request line
 * through in `req.url`, and it is not forwarded.
 *
 * @param target a stored target, as returned by `normalizeTarget` (ASCII; its first `#` starts the fragment)
 * @param rawQuery the request's query string without the leading `?`, as
 *   Node.js exposes it: a latin1 string whose characters U+0080-U+00FF stand
 *   for raw bytes. A character above U+00FF (not something Node.js produces)
 *   is escaped as the UTF-8 bytes of its code point.
 * @returns the target itself when the query is empty, else the joined URL
 */
export function appendForwardedQuery(target: string, rawQuery: string): string {
  const end = rawQuery.indexOf('#');
  const query = end < 0 ? rawQuery : rawQuery.slice(0, end);
  if (query === '') return target;
  const forwarded = query.replace(NEEDS_ESCAPE, escapeCharacter);
  const hash = target.indexOf('#');
  const base = hash < 0 ? target : target.slice(0, hash);
  const fragment = hash < 0 ? '' : target.slice(hash);
  const ownQuery = base.indexOf('?');
  const separator = ownQuery < 0 ? '?' : ownQuery === base.length - 1 ? '' : '&';
  return `${base}${separator}${forwarded}${fragment}`;
}

function escapeCharacter(character: string): string {
  const code = character.charCodeAt(0);
  if (code <= 0xff) return percent(code);
  let escaped = '';
  for (const byte of Buffer.from(character, 'utf8')) escaped += percent(byte);
  return escaped;
}

function percent(byte: number): string {
  return `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}
